/*
 * The daemon's event bus: lifecycle events of instances (created, started,
 * stopped, paused, resumed, deleted, and what a VMM reports: a guest panic, a
 * reset, a device error) in publication order, for `GET /1.0/events`.
 *
 * Events are numbered from 1 and the last EVENTS_KEEP of them are kept in a
 * ring, so a reader that fell behind (or reconnects with Last-Event-ID)
 * still gets what it missed, as long as it is no older than the ring; one
 * further behind is told how many it lost.  Publishing never blocks on a
 * reader: readers copy events out under the bus's lock.
 */
#ifndef NIMBUS_DAEMON_EVENTS_H
#define NIMBUS_DAEMON_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/instance.h"

#define EVENTS_KEEP 256
#define EVENT_TYPE_MAX 32
#define EVENT_DETAIL_MAX 256

struct event {
	uint64_t seq;                          /* 1, 2, ... */
	int64_t time_ns;                       /* CLOCK_REALTIME */
	char type[EVENT_TYPE_MAX];             /* "instance-started", ... */
	char instance[INSTANCE_NAME_MAX + 1];  /* may be empty */
	char project[INSTANCE_NAME_MAX + 1];   /* the instance's; "" for the host's (images) */
	char detail[EVENT_DETAIL_MAX];
};

struct events;

struct events *events_new(void);
/* Wakes every waiting reader; events_wait then returns -ESHUTDOWN. */
void events_close(struct events *b);
void events_free(struct events *b);

void events_publish(struct events *b, const char *type, const char *instance,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The same, of an instance of project: only the host admin and that
 * project's tokens see it (event_visible). */
void events_publish_in(struct events *b, const char *project, const char *type,
		       const char *instance, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Whether a caller of project (NULL: the host admin) sees ev: its own
 * project's events and those of no instance (images, shared by all).  An
 * instance's event published without a project is the host admin's alone. */
bool event_visible(const struct event *ev, const char *project);

/* The seq the next event will get: a new reader starts there. */
uint64_t events_next_seq(struct events *b);

/* Copies into out the event numbered *cursor (or the oldest still kept, if
 * that one is gone; *lost then says how many were skipped) and advances
 * *cursor.  Waits up to timeout_ms for one.  Returns 1 with an event, 0 on
 * timeout, -ESHUTDOWN once the bus is closed. */
int events_wait(struct events *b, uint64_t *cursor, struct event *out, uint64_t *lost,
		int timeout_ms);

/* The event as one line of JSON (no newline) into buf; its length. */
size_t event_json(const struct event *ev, char *buf, size_t len);

#endif
