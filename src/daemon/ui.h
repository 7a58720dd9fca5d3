/*
 * The web console's files (web/ui in the repository), built into the
 * daemon so that it serves exactly what the repository holds, with no
 * install step and no files to lose: GET /ui/ and below, on the same
 * listeners as the API (docs/web-console.md).  They are public (a login
 * page cannot need a token); everything they show comes from the API with
 * the token the user gives them.
 */
#ifndef NIMBUS_DAEMON_UI_H
#define NIMBUS_DAEMON_UI_H

#include <stdbool.h>
#include <stddef.h>

struct ui_asset {
	const char *path;            /* "/ui/app.js" */
	const char *type;            /* its Content-Type */
	const unsigned char *data;
	size_t len;
};

/* Whether a request is the console's: GET or HEAD of "/", "/ui" or under "/ui/". */
bool ui_wanted(const char *method, const char *url);

/* What answers url: 0 and *out for a file; 1 and *redirect for "/" and
 * "/ui" (to "/ui/"); -ENOENT for anything else. */
int ui_lookup(const char *url, struct ui_asset *out, const char **redirect);

/* The i-th file (tests walk them all); -ENOENT past the last. */
int ui_asset_at(size_t i, struct ui_asset *out);

#endif
