/*
 * The REST API, independent of the HTTP server: a request (method, path,
 * query, body) goes in, a status and a JSON document come out.  http.c
 * feeds it from libmicrohttpd; tests call api_dispatch directly.
 *
 * Every error is {"error": {"code": "...", "message": "..."}} with the HTTP
 * status that fits (api_status_for maps a library errno to it).  The route
 * table is public so a test can hold it against the OpenAPI document.
 */
#ifndef NIMBUS_DAEMON_API_H
#define NIMBUS_DAEMON_API_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "daemon/auth.h"
#include "daemon/service.h"

struct api_req {
	const char *method;
	const char *path;            /* decoded, without the query */
	const char *body;            /* may be NULL */
	size_t body_len;
	/* The value of a query argument, or NULL; and the first argument whose
	 * key is not in allowed (NULL-terminated), or NULL. */
	const char *(*query)(void *q, const char *key);
	const char *(*query_unknown)(void *q, const char *const *allowed);
	void *q;
	const char *last_event_id;   /* the Last-Event-ID header, or NULL */
	const char *upgrade;         /* the Upgrade header, or NULL */
	/* A WebSocket handshake's Sec-WebSocket-{Key,Version,Protocol}, or NULL. */
	const char *ws_key, *ws_version, *ws_protocol;
	/* Who asks (gate.c); NULL is the host admin (the Unix socket, no token). */
	const struct caller *who;
	/* The HTTP server's request counts, for GET /metrics (metrics.h), or NULL. */
	const struct http_stats *stats;
};

struct exec_upgrade;
struct http_stats;

struct api_resp {
	int status;
	cJSON *json;                 /* owned; or NULL with raw set */
	const char *raw;             /* static bytes (the OpenAPI document) */
	size_t raw_len;
	char allow[64];              /* the Allow header of a 405 */
	/* GET /1.0/events: instead of json, a server-sent event stream of bus
	 * from the event numbered events_from. */
	struct events *events;
	unsigned long long events_from;
	char events_project[INSTANCE_NAME_MAX + 1];  /* only its events (events.h); "": all */
	char location[128];          /* a Location header (a 202's operation), or "" */
	/* GET .../console: 101, then the connection is joined to this Unix socket. */
	char console_sock[108];
	bool console_seqpacket;      /* a conmon attach socket (see service.h) */
	char ws_accept[32];          /* not "": the console is a WebSocket (ws_console.h) */
	/* POST .../exec upgraded: 101, then this exec runs on the connection
	 * (api_exec.h); owned, freed by whoever does not run it. */
	struct exec_upgrade *exec;
	/* Instead of json: this text (owned, freed after sending) as text/plain
	 * in the Prometheus exposition format (GET /metrics). */
	char *text;
};

struct route {
	const char *method;
	const char *pattern;         /* "{name}" matches one path segment */
	const char *const *query;    /* the query arguments it takes (NULL: none) */
	int (*handler)(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out);
};

extern const struct route api_routes[];
extern const size_t api_nroutes;

/* Routes r and fills out (always: an error becomes an error document). */
void api_dispatch(struct service *s, const struct api_req *r, struct api_resp *out);

/* An error document and status from a library error. */
void api_error(struct api_resp *out, int status, const char *code, const char *message);
void api_error_from(struct api_resp *out, const struct err *e);
int api_status_for(int neg_errno);

/* Handlers in their own files, one per resource (api_events.c, ...). */
int api_h_events(struct service *s, const struct api_req *r, const char *name,
		 struct api_resp *out);
int api_h_pause(struct service *s, const struct api_req *r, const char *name,
		struct api_resp *out);
int api_h_resume(struct service *s, const struct api_req *r, const char *name,
		 struct api_resp *out);
int api_h_config(struct service *s, const struct api_req *r, const char *name,
		 struct api_resp *out);

int api_h_image_import(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out);
int api_h_image_delete(struct service *s, const struct api_req *r, const char *name,
		       struct api_resp *out);
int api_h_operations(struct service *s, const struct api_req *r, const char *name,
		     struct api_resp *out);
int api_h_operation(struct service *s, const struct api_req *r, const char *name,
		    struct api_resp *out);
int api_h_console(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out);
/* POST: a container terminal's window size (api_console.c). */
int api_h_console_resize(struct service *s, const struct api_req *r, const char *name,
			 struct api_resp *out);
int api_h_metrics(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out);
struct operation;
cJSON *api_operation_json(const struct operation *op);
/* 202 Accepted: the operation, and Location: where to follow it. */
void api_accepted(struct api_resp *out, const struct operation *op);
/* Moving a VM between daemons (api_migrate.c). */
int api_h_migrate(struct service *s, const struct api_req *r, const char *name,
		  struct api_resp *out);
int api_h_incoming(struct service *s, const struct api_req *r, const char *name,
		   struct api_resp *out);
/* A VM's snapshots (api_snapshots.c). */
int api_h_snapshot_list(struct service *s, const struct api_req *r, const char *name,
			struct api_resp *out);
int api_h_snapshot_create(struct service *s, const struct api_req *r, const char *name,
			  struct api_resp *out);
int api_h_snapshot_delete(struct service *s, const struct api_req *r, const char *name,
			  struct api_resp *out);
int api_h_snapshot_restore(struct service *s, const struct api_req *r, const char *name,
			   struct api_resp *out);

/* The JSON form of an instance (the API's and `nimbus list --format json`'s). */
cJSON *api_instance_json(const struct instance *in);

/* The OpenAPI document (openapi.json, built in). */
extern const char api_openapi_doc[];
extern const size_t api_openapi_len;

#endif
