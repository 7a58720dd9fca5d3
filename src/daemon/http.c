/* See http.h. */
#include "daemon/http.h"
#include "daemon/api.h"
#include "daemon/api_exec.h"
#include "daemon/exec_frame.h"
#include "daemon/events.h"
#include "daemon/gate.h"
#include "daemon/metrics.h"
#include "daemon/request.h"
#include "daemon/tls.h"
#include "daemon/ui.h"
#include "daemon/ws.h"
#include "daemon/ws_console.h"
#include "lib/io.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct http_server {
	struct MHD_Daemon *mhd;
	struct service *svc;
	char path[108];            /* the Unix socket's; "" for TCP */
	int fd;
	bool tcp;
	char *tls_key, *tls_cert;  /* PEM, alive as long as the server */
	/* Upgraded connections (consoles) run on threads of their own; they
	 * end when `closing` is signalled, and the server waits for them. */
	int closing;                 /* an eventfd */
	struct http_stats stats;     /* requests answered, for GET /metrics (metrics.h) */
	pthread_mutex_t lock;
	pthread_cond_t idle;
	int upgraded;
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

/* One event stream: the events are formatted into buf one at a time. */
struct sse {
	struct events *bus;
	uint64_t cursor;
	char project[INSTANCE_NAME_MAX + 1];   /* only its events; "": all */
	char buf[EVENT_DETAIL_MAX * 2 + 512];
	size_t len, off;
};

/* Waits at most this long for an event before a comment line keeps the
 * connection (and proxies, and the client's idle timeout) alive. */
#define SSE_KEEPALIVE_MS 15000

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
	(void)pos;
	struct sse *x = cls;
	while (x->off == x->len) {
		struct event ev;
		uint64_t lost;
		int r = events_wait(x->bus, &x->cursor, &ev, &lost, SSE_KEEPALIVE_MS);
		if (r < 0)
			return MHD_CONTENT_READER_END_OF_STREAM;
		x->off = x->len = 0;
		bool shown = r > 0 && event_visible(&ev, x->project[0] ? x->project : NULL);
		if (r > 0 && !shown && !lost)
			continue;   /* another project's */
		if (r == 0) {
			x->len = (size_t)snprintf(x->buf, sizeof x->buf, ": keep-alive\n\n");
			break;
		}
		if (lost)
			x->len = (size_t)snprintf(x->buf, sizeof x->buf, "event: lost\ndata: "
						  "{\"lost\":%llu}\n\n", (unsigned long long)lost);
		if (!shown)
			break;
		int n = snprintf(x->buf + x->len, sizeof x->buf - x->len,
				 "id: %llu\nevent: %s\ndata: ", (unsigned long long)ev.seq, ev.type);
		x->len += (size_t)n;
		x->len += event_json(&ev, x->buf + x->len, sizeof x->buf - x->len - 3);
		x->len += (size_t)snprintf(x->buf + x->len, sizeof x->buf - x->len, "\n\n");
	}
	size_t n = x->len - x->off < max ? x->len - x->off : max;
	memcpy(out, x->buf + x->off, n);
	x->off += n;
	return (ssize_t)n;
}

static enum MHD_Result send_events(struct MHD_Connection *c, struct api_resp *r)
{
	struct sse *x = calloc(1, sizeof *x);
	if (!x)
		return MHD_NO;
	x->bus = r->events;
	x->cursor = r->events_from;
	snprintf(x->project, sizeof x->project, "%s", r->events_project);
	/* A first comment, so the client sees the stream open at once. */
	x->len = (size_t)snprintf(x->buf, sizeof x->buf, ": nimbus events from %llu\n\n",
				  (unsigned long long)x->cursor);
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024,
								      sse_read, x, free);
	if (!resp) {
		free(x);
		return MHD_NO;
	}
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	enum MHD_Result ret = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return ret;
}

struct joined {
	struct http_server *h;
	struct MHD_UpgradeResponseHandle *urh;
	MHD_socket client;
	int console;
	bool seqpacket;              /* console: conmon's attach socket, a stream byte per message */
	bool ws;                     /* the client speaks WebSocket (ws_console.h) */
	struct exec_upgrade *exec;   /* not a console: an interactive exec (api_exec.h) */
	char *pending;               /* bytes the client sent along with the request */
	size_t pending_len;
};

/* Copies what is readable on from to to; false when from has closed.  skip:
 * bytes to drop from the front of what is read (conmon's stream byte). */
static bool pass(int from, int to, int skip)
{
	char buf[8192];
	ssize_t n = recv(from, buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n == 0)
		return false;
	ssize_t off = skip < n ? skip : n;
	return io_send_all(to, buf + off, (size_t)(n - off)) == 0;
}

static void *join_thread(void *arg)
{
	struct joined *j = arg;
	if (j->exec)
		exec_upgrade_run(j->exec, j->client, j->h->closing, j->pending, j->pending_len);
	else if (j->ws)
		ws_console_pump(j->client, j->console, j->seqpacket, j->h->closing, j->pending,
				j->pending_len);
	else if (j->pending_len)
		io_send_all(j->console, j->pending, j->pending_len);
	while (!j->ws && !j->exec) {
		struct pollfd pf[3] = { { .fd = j->client, .events = POLLIN },
					{ .fd = j->console, .events = POLLIN },
					{ .fd = j->h->closing, .events = POLLIN } };
		if (poll(pf, 3, -1) < 0 && errno != EINTR)
			break;
		if (pf[2].revents)
			break;
		if (pf[0].revents && !pass(j->client, j->console, 0))
			break;
		if (pf[1].revents && !pass(j->console, j->client, j->seqpacket ? 1 : 0))
			break;
	}
	if (j->console >= 0)
		close(j->console);
	MHD_upgrade_action(j->urh, MHD_UPGRADE_ACTION_CLOSE);
	struct http_server *h = j->h;
	free(j->pending);
	free(j);
	pthread_mutex_lock(&h->lock);
	if (--h->upgraded == 0)
		pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void on_upgrade(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra_in,
		       size_t extra_in_size, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	(void)c, (void)con_cls;
	struct joined *j = cls;
	j->urh = urh;
	j->client = sock;
	if (extra_in_size && (j->pending = malloc(extra_in_size))) {
		memcpy(j->pending, extra_in, extra_in_size);
		j->pending_len = extra_in_size;
	}
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, join_thread, j) != 0) {
		struct http_server *h = j->h;
		if (j->console >= 0)
			close(j->console);
		exec_upgrade_free(j->exec);
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		free(j->pending);
		free(j);
		pthread_mutex_lock(&h->lock);
		if (--h->upgraded == 0)
			pthread_cond_broadcast(&h->idle);
		pthread_mutex_unlock(&h->lock);
	}
	pthread_attr_destroy(&a);
}

static enum MHD_Result send_console(struct http_server *h, struct MHD_Connection *c,
				    struct api_resp *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", r->console_sock);
	int fd = socket(AF_UNIX, (r->console_seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		char msg[300];
		snprintf(msg, sizeof msg, "console: %s does not answer (%s)",
			 r->console_seqpacket ? "its conmon" : "its relay", strerror(errno));
		if (fd >= 0)
			close(fd);
		r->status = 0;
		r->console_sock[0] = 0;
		api_error(r, 500, "internal", msg);
		return MHD_NO;   /* the caller sends r */
	}
	struct joined *j = calloc(1, sizeof *j);
	struct MHD_Response *resp = j ? MHD_create_response_for_upgrade(on_upgrade, j) : NULL;
	if (!resp) {
		free(j);
		close(fd);
		return MHD_NO;
	}
	j->h = h;
	j->console = fd;
	j->seqpacket = r->console_seqpacket;
	j->ws = r->ws_accept[0] != 0;
	pthread_mutex_lock(&h->lock);
	h->upgraded++;
	pthread_mutex_unlock(&h->lock);
	if (j->ws) {
		/* RFC 6455 section 4.2.2 */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
		MHD_add_response_header(resp, "Sec-WebSocket-Accept", r->ws_accept);
		MHD_add_response_header(resp, "Sec-WebSocket-Protocol", WS_CONSOLE_PROTOCOL);
	} else {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "nimbus-console");
	}
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	if (ret != MHD_YES) {
		/* on_upgrade will not run */
		close(fd);
		free(j);
		pthread_mutex_lock(&h->lock);
		if (--h->upgraded == 0)
			pthread_cond_broadcast(&h->idle);
		pthread_mutex_unlock(&h->lock);
	}
	return ret;
}

/* An interactive exec (api_exec.h): 101, then the exec on its own thread. */
static enum MHD_Result send_exec(struct http_server *h, struct MHD_Connection *c,
				 struct api_resp *r)
{
	struct joined *j = calloc(1, sizeof *j);
	struct MHD_Response *resp = j ? MHD_create_response_for_upgrade(on_upgrade, j) : NULL;
	if (!resp) {
		free(j);
		exec_upgrade_free(r->exec);
		r->exec = NULL;
		return MHD_NO;
	}
	j->h = h;
	j->console = -1;
	j->exec = r->exec;
	r->exec = NULL;
	pthread_mutex_lock(&h->lock);
	h->upgraded++;
	pthread_mutex_unlock(&h->lock);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, EXEC_UPGRADE);
	enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
	MHD_destroy_response(resp);
	if (ret != MHD_YES) {
		exec_upgrade_free(j->exec);
		free(j);
		pthread_mutex_lock(&h->lock);
		if (--h->upgraded == 0)
			pthread_cond_broadcast(&h->idle);
		pthread_mutex_unlock(&h->lock);
	}
	return ret;
}

static enum MHD_Result send_resp(struct MHD_Connection *c, struct api_resp *r)
{
	struct MHD_Response *resp;
	if (r->events && !r->json)
		return send_events(c, r);
	if (r->text) {
		resp = MHD_create_response_from_buffer(strlen(r->text), r->text, MHD_RESPMEM_MUST_FREE);
		if (!resp) {
			free(r->text);
			return MHD_NO;
		}
		r->text = NULL;
		MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
		enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
		MHD_destroy_response(resp);
		return ret;
	}
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
	if (r->location[0])
		MHD_add_response_header(resp, "Location", r->location);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* The web console's files (ui.h).  The headers keep its pages from being
 * framed by another site or fed scripts from anywhere but here; styles may
 * be inline because xterm.js sets some. */
static enum MHD_Result ui_send(struct MHD_Connection *c, const char *url)
{
	struct ui_asset a;
	const char *redirect = NULL;
	int found = ui_lookup(url, &a, &redirect);
	static const char missing[] = "not found\n";
	struct MHD_Response *resp =
		found == 0 ? MHD_create_response_from_buffer(a.len, (void *)a.data,
							     MHD_RESPMEM_PERSISTENT)
			   : MHD_create_response_from_buffer(found > 0 ? 0 : sizeof missing - 1,
							     (void *)missing, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", found == 0 ? a.type : "text/plain");
	if (redirect)
		MHD_add_response_header(resp, "Location", redirect);
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; connect-src 'self'; img-src 'self' data:; "
				"style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
				"base-uri 'none'; form-action 'none'");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control", "no-cache");
	enum MHD_Result ret = MHD_queue_response(c, found == 0 ? 200 : found > 0 ? 302 : 404, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A WebSocket handshake from a browser names the page's origin: it must be
 * this server (RFC 6455 section 10.2), so that a page of another site a
 * user visits cannot open a console with credentials it holds.  A client
 * that is no browser sends none. */
static bool same_origin(struct MHD_Connection *c)
{
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
	if (!origin)
		return true;
	const char *sep = strstr(origin, "://");
	return sep && host && !strcasecmp(sep + 3, host);
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
	const char *upgrade = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Upgrade");
	bool ws = upgrade && !strcasecmp(upgrade, "websocket");
	if (ui_wanted(method, url))
		return ui_send(c, url);
	if (ws && !same_origin(c)) {
		api_error(&r, 403, "forbidden", "websocket: Origin is not this server (a page of "
			  "another site may not open a console)");
	} else if (p->too_big) {
		char msg[128];
		snprintf(msg, sizeof msg, "request body: larger than %d bytes", REQUEST_BODY_MAX);
		api_error(&r, 413, "payload_too_large", msg);
	} else {
		struct api_req req = { .method = method, .path = url, .body = p->body,
				       .body_len = p->len, .query = query,
				       .query_unknown = query_unknown, .q = c,
				       .last_event_id = MHD_lookup_connection_value(
					       c, MHD_HEADER_KIND, "Last-Event-ID"),
				       .upgrade = upgrade, .stats = &h->stats };
		const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		char bearer[TOKEN_LEN + 64];
		if (ws) {
			req.ws_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								 "Sec-WebSocket-Key");
			req.ws_version = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								     "Sec-WebSocket-Version");
			req.ws_protocol = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								      "Sec-WebSocket-Protocol");
			/* A browser cannot set Authorization on a WebSocket: its token
			 * comes as the subprotocol "bearer.TOKEN" (never in the URL,
			 * which logs and histories keep).  The reply names only
			 * WS_CONSOLE_PROTOCOL, so the token is not echoed. */
			char tok[TOKEN_LEN + 32];
			if (!authz && ws_protocol_value(req.ws_protocol, WS_BEARER_PREFIX, tok,
							sizeof tok) == 0) {
				snprintf(bearer, sizeof bearer, "Bearer %s", tok);
				authz = bearer;
			}
		}
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		gate_dispatch(h->svc, h->tcp, authz, &req, &r);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		metrics_record(&h->stats, r.status, (double)(t1.tv_sec - t0.tv_sec) +
				       (t1.tv_nsec - t0.tv_nsec) / 1e9);
	}
	if (r.status == 101 && r.exec)
		return send_exec(h, c, &r);
	if (r.status == 101 && r.console_sock[0]) {
		enum MHD_Result ret = send_console(h, c, &r);
		if (ret == MHD_YES || !r.json)
			return ret;
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
	int closing = h ? eventfd(0, EFD_CLOEXEC) : -1;
	if (closing < 0) {
		int saved = h ? errno : ENOMEM;
		close(fd);
		if (unix_path)
			unlink(unix_path);
		free(key);
		free(cert);
		free(h);
		return err_set(e, -saved, "daemon: %s", strerror(saved));
	}
	h->svc = s;
	h->fd = fd;
	h->tcp = !unix_path;
	h->tls_key = key;
	h->tls_cert = cert;
	h->closing = closing;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->idle, NULL);
	snprintf(h->path, sizeof h->path, "%s", unix_path ? unix_path : "");
	/* Both listeners upgrade (a console over the socket or over TLS). */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_ALLOW_UPGRADE;
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
		close(h->closing);
		pthread_mutex_destroy(&h->lock);
		pthread_cond_destroy(&h->idle);
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
	uint64_t one = 1;
	if (write(h->closing, &one, sizeof one) < 0) {
		/* an eventfd write fails only on overflow: it is signalled anyway */
	}
	pthread_mutex_lock(&h->lock);
	while (h->upgraded)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
	MHD_stop_daemon(h->mhd);   /* closes the listening socket too */
	close(h->closing);
	pthread_mutex_destroy(&h->lock);
	pthread_cond_destroy(&h->idle);
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
