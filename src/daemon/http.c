/* See http.h. */
#include "daemon/http.h"
#include "daemon/api.h"
#include "daemon/gate.h"
#include "daemon/tls.h"
#include "daemon/request.h"

#include <errno.h>
#include <netdb.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

struct http_server {
	struct MHD_Daemon *mhd;
	struct service *svc;
	char path[108];            /* the Unix socket's; "" for TCP */
	int fd;
	bool tcp;
	char *tls_key, *tls_cert;  /* PEM, alive as long as the server */
};

struct pending {
	char *body;
	size_t len;
	bool too_big;
};

static const char *query(void *q, const char *key)
{
	return MHD_lookup_connection_value(q, MHD_GET_ARGUMENT_KIND, key);
}

struct unknown_scan {
	const char *const *allowed;
	const char *found;
};

static enum MHD_Result scan_key(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	(void)kind, (void)value;
	struct unknown_scan *u = cls;
	for (const char *const *a = u->allowed; *a; a++)
		if (!strcmp(*a, key))
			return MHD_YES;
	u->found = key;
	return MHD_NO;
}

static const char *query_unknown(void *q, const char *const *allowed)
{
	struct unknown_scan u = { allowed, NULL };
	MHD_get_connection_values(q, MHD_GET_ARGUMENT_KIND, scan_key, &u);
	return u.found;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct api_resp *r)
{
	struct MHD_Response *resp;
	if (r->raw) {
		resp = MHD_create_response_from_buffer(r->raw_len, (void *)r->raw,
						       MHD_RESPMEM_PERSISTENT);
	} else {
		char *text = cJSON_PrintUnformatted(r->json);
		size_t n = text ? strlen(text) : 0;
		char *body = text ? realloc(text, n + 2) : NULL;
		if (!body) {
			free(text);
			cJSON_Delete(r->json);
			return MHD_NO;
		}
		body[n++] = '\n';
		body[n] = 0;
		resp = MHD_create_response_from_buffer(n, body, MHD_RESPMEM_MUST_FREE);
		if (!resp)
			free(body);
	}
	cJSON_Delete(r->json);
	r->json = NULL;
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "application/json");
	if (r->allow[0])
		MHD_add_response_header(resp, "Allow", r->allow);
	if (r->status == 401)   /* RFC 6750 section 3 */
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"nimbus\"");
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	struct http_server *h = cls;
	struct pending *p = *con_cls;
	if (!p) {
		p = calloc(1, sizeof *p);
		if (!p)
			return MHD_NO;
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;
		*upload_size = 0;
		if (p->too_big || p->len + n > REQUEST_BODY_MAX) {
			p->too_big = true;
			free(p->body);
			p->body = NULL;
			return MHD_YES;
		}
		char *nb = realloc(p->body, p->len + n + 1);
		if (!nb)
			return MHD_NO;
		memcpy(nb + p->len, upload, n);
		p->body = nb;
		p->len += n;
		p->body[p->len] = 0;
		return MHD_YES;
	}
	struct api_resp r = { 0 };
	if (p->too_big) {
		char msg[128];
		snprintf(msg, sizeof msg, "request body: larger than %d bytes", REQUEST_BODY_MAX);
		api_error(&r, 413, "payload_too_large", msg);
	} else {
		struct api_req req = { .method = method, .path = url, .body = p->body,
				       .body_len = p->len, .query = query,
				       .query_unknown = query_unknown, .q = c };
		const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		gate_dispatch(h->svc, h->tcp, authz, &req, &r);
	}
	return send_resp(c, &r);
}

static void on_done(void *cls, struct MHD_Connection *c, void **con_cls,
		    enum MHD_RequestTerminationCode why)
{
	(void)cls, (void)c, (void)why;
	struct pending *p = *con_cls;
	if (p) {
		free(p->body);
		free(p);
		*con_cls = NULL;
	}
}

/* A socket file nobody listens on is a dead daemon's: safe to replace. */
static bool socket_is_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool live = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
	close(fd);
	return live;
}

/* Serves fd (listening); owns it, and key/cert, from here on. */
static int serve(struct service *s, int fd, const char *unix_path, char *key, char *cert,
		 struct http_server **out, struct err *e)
{
	struct http_server *h = calloc(1, sizeof *h);
	if (!h) {
		close(fd);
		if (unix_path)
			unlink(unix_path);
		free(key);
		free(cert);
		return err_set(e, -ENOMEM, "daemon: out of memory");
	}
	h->svc = s;
	h->fd = fd;
	h->tcp = !unix_path;
	h->tls_key = key;
	h->tls_cert = cert;
	snprintf(h->path, sizeof h->path, "%s", unix_path ? unix_path : "");
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	if (key)
		h->mhd = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, on_request, h,
					  MHD_OPTION_LISTEN_SOCKET, fd,
					  MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
					  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
					  MHD_OPTION_HTTPS_MEM_KEY, key,
					  MHD_OPTION_HTTPS_MEM_CERT, cert,
					  MHD_OPTION_END);
	else
		h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
					  MHD_OPTION_LISTEN_SOCKET, fd,
					  MHD_OPTION_NOTIFY_COMPLETED, on_done, h,
					  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
					  MHD_OPTION_END);
	if (!h->mhd) {
		close(fd);
		if (unix_path)
			unlink(unix_path);
		free(key);
		free(cert);
		free(h);
		return err_set(e, -EIO, "%s: the HTTP%s server did not start", unix_path ? unix_path
			       : "--listen", key ? "S" : "");
	}
	*out = h;
	return 0;
}

int http_start(struct service *s, const char *path, struct http_server **out, struct err *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return err_set(e, -ENAMETOOLONG, "--socket %s: longer than %zu bytes", path,
			       sizeof sa.sun_path - 1);
	strcpy(sa.sun_path, path);
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(e, -EEXIST, "--socket %s: exists and is not a socket", path);
		if (socket_is_live(&sa))
			return err_set(e, -EADDRINUSE, "--socket %s: a daemon already listens there",
				       path);
		unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, -errno, "socket: %s", strerror(errno));
	/* Created 0600 through the umask, so there is no moment it is open to all. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	int saved = errno;
	umask(old);
	if (rc < 0 || listen(fd, 64) < 0) {
		if (rc == 0)
			saved = errno;
		close(fd);
		return err_set(e, -saved, "--socket %s: %s", path, strerror(saved));
	}
	return serve(s, fd, path, NULL, NULL, out, e);
}

void http_stop(struct http_server *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);   /* closes the listening socket too */
	if (h->path[0])
		unlink(h->path);
	free(h->tls_key);
	free(h->tls_cert);
	free(h);
}

int http_listen_split(const char *addr, char *host, size_t hlen, char *port, size_t plen,
		      struct err *e)
{
	const char *colon = strrchr(addr, ':');
	const char *h = addr, *hend = colon;
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');
		if (!close || close[1] != ':')
			return err_set(e, -EINVAL, "--listen %s: expected [IPV6]:PORT", addr);
		h = addr + 1;
		hend = close;
		colon = close + 1;
	}
	char *end;
	long p = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || !colon[1] || *end || p < 1 || p > 65535)
		return err_set(e, -EINVAL, "--listen %s: expected ADDRESS:PORT with a port from 1 "
			       "to 65535 (e.g. 127.0.0.1:8443)", addr);
	if ((size_t)(hend - h) >= hlen)
		return err_set(e, -EINVAL, "--listen %s: address too long", addr);
	snprintf(host, hlen, "%.*s", (int)(hend - h), h);
	snprintf(port, plen, "%ld", p);
	return 0;
}

int http_start_tls(struct service *s, const char *addr, const char *tls_dir,
		   struct http_server **out, struct err *e)
{
	char host[256], port[8];
	int rc = http_listen_split(addr, host, sizeof host, port, sizeof port, e);
	if (rc < 0)
		return rc;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai;
	int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (gai)
		return err_set(e, -EINVAL, "--listen %s: %s", addr, gai_strerror(gai));
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return err_set(e, rc, "--listen %s: %s", addr, strerror(-rc));
	}
	freeaddrinfo(ai);
	char *key, *cert;
	if ((rc = tls_load_or_make(tls_dir, host, &key, &cert, e)) < 0) {
		close(fd);
		return rc;
	}
	return serve(s, fd, NULL, key, cert, out, e);
}
