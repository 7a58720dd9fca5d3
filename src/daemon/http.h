/*
 * The daemon's HTTP server: libmicrohttpd on a listening Unix socket, one
 * thread per connection (a stop may wait for its timeout without holding up
 * other clients).  Each request's body is collected up to REQUEST_BODY_MAX
 * (more is drained and answered 413) and handed with its method and path to
 * api_dispatch.
 */
#ifndef NIMBUS_DAEMON_HTTP_H
#define NIMBUS_DAEMON_HTTP_H

#include <stddef.h>

#include "daemon/service.h"
#include "lib/err.h"

struct http_server;

/* Listens on path: a stale socket is replaced, a live one refused; the
 * socket is made mode 0600 (root's door) before anyone can connect. */
int http_start(struct service *s, const char *path, struct http_server **out, struct err *e);
void http_stop(struct http_server *h);

/* The TCP listener at addr ("127.0.0.1:8443", "[::1]:8443", ":8443" for
 * every address), HTTPS only, with the certificate of tls_dir (tls.h).
 * Requests on it need a bearer token (gate.h). */
int http_start_tls(struct service *s, const char *addr, const char *tls_dir,
		   struct http_server **out, struct err *e);
/* addr's host ("" for none) and port; -EINVAL naming the problem. */
int http_listen_split(const char *addr, char *host, size_t hlen, char *port, size_t plen,
		      struct err *e);

#endif
