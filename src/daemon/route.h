/*
 * The API's path rules, apart from its handlers so that they can be fuzzed
 * alone (fuzz/route_fuzz.c): a request path is taken with its trailing
 * slashes dropped and refused if it holds a '..' segment; a route pattern
 * matches it byte for byte except "{name}", which takes exactly one
 * non-empty segment (whether that is a valid name is name_check's to say).
 */
#ifndef NIMBUS_DAEMON_ROUTE_H
#define NIMBUS_DAEMON_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

enum route_path_result {
	ROUTE_PATH_OK,
	ROUTE_PATH_TOO_LONG,          /* not shorter than the output buffer */
	ROUTE_PATH_DOTDOT,            /* a '..' segment */
};

/* path without its trailing slashes ("/" stays) into out[size]. */
enum route_path_result route_path(const char *path, char *out, size_t size);

/* Whether path (as route_path left it) matches pattern; the {name} segment
 * goes to name[len], cut to len - 1 bytes. */
bool route_match(const char *pattern, const char *path, char *name, size_t len);

#endif
