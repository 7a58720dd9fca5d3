/*
 * An upgraded connection to the daemon over its Unix socket (HTTP/1.1
 * `Connection: Upgrade`, RFC 9110 section 7.8), for the verbs whose
 * requests become a two-way stream: `nimbus exec` (Upgrade: nimbus-exec).
 * libcurl cannot hand over a connection after a 101, so the request is
 * written and the response head read here, by hand; only the Unix socket
 * is spoken to (an https:// daemon gets a plain request instead).
 */
#ifndef NIMBUS_CLI_UPGRADE_H
#define NIMBUS_CLI_UPGRADE_H

#include <stddef.h>

/* Sends method path with body (JSON, may be NULL) and Upgrade: proto to
 * the daemon at sock.  On 101 returns the connected fd, with the bytes that
 * came after the head in extra (up to *extra_len, which is set to how many).
 * Otherwise prints "nimbus: VERB: MESSAGE" (the daemon's error) and returns
 * -1 with *exit_code 2 for a 400 or 413, else 1. */
int cli_upgrade(const char *verb, const char *sock, const char *method, const char *path,
		const char *body, const char *proto, char *extra, size_t *extra_len,
		int *exit_code);

#endif
