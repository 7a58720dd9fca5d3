/*
 * GET /1.0/events: the daemon's lifecycle events as server-sent events
 * (https://html.spec.whatwg.org/multipage/server-sent-events.html), one per
 * event: `id: N`, `event: TYPE`, `data: {JSON}`.  A client that reconnects
 * with Last-Event-ID (or ?since=N) gets what it missed, as far as the bus
 * keeps (events.h); otherwise it starts with the next event.  A token's
 * stream holds only its project's events (and image events, shared by all);
 * the host admin's holds everything.  The stream
 * itself is written by http.c; this only decides where it starts.
 */
#include "daemon/api.h"
#include "daemon/events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int parse_id(const char *what, const char *v, unsigned long long *out, struct err *e)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (!*v || *end || *v == '-' || errno)
		return err_set(e, -EINVAL, "%s %.32s: expected an event id (a whole number)", what, v);
	*out = n;
	return 0;
}

int api_h_events(struct service *s, const struct api_req *r, const char *name,
		 struct api_resp *out)
{
	(void)name;
	struct err e = { 0 };
	struct events *bus = service_events(s);
	unsigned long long from = events_next_seq(bus), id;
	const char *since = r->query ? r->query(r->q, "since") : NULL;
	if (since) {
		if (parse_id("query since=", since, &id, &e) < 0) {
			api_error_from(out, &e);
			return 0;
		}
		from = id + 1;
	} else if (r->last_event_id) {
		if (parse_id("Last-Event-ID", r->last_event_id, &id, &e) < 0) {
			api_error_from(out, &e);
			return 0;
		}
		from = id + 1;
	}
	/* A token sees its own project's events (gate.c lets it through). */
	if (r->who && !r->who->host_admin)
		snprintf(out->events_project, sizeof out->events_project, "%s", r->who->project);
	out->status = 200;
	out->events = bus;
	out->events_from = from;
	return 0;
}
