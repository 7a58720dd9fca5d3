/* See events.h. */
#include "daemon/events.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct events {
	pthread_mutex_t lock;
	pthread_cond_t more;
	uint64_t next;                 /* seq of the next event */
	bool closed;
	struct event ring[EVENTS_KEEP];
};

struct events *events_new(void)
{
	struct events *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->more, &ca);
	pthread_condattr_destroy(&ca);
	b->next = 1;
	return b;
}

void events_close(struct events *b)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->lock);
	b->closed = true;
	pthread_cond_broadcast(&b->more);
	pthread_mutex_unlock(&b->lock);
}

void events_free(struct events *b)
{
	if (!b)
		return;
	pthread_cond_destroy(&b->more);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

static void publish(struct events *b, const char *project, const char *type,
		    const char *instance, const char *fmt, va_list ap)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	pthread_mutex_lock(&b->lock);
	struct event *ev = &b->ring[b->next % EVENTS_KEEP];
	ev->seq = b->next++;
	ev->time_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	snprintf(ev->type, sizeof ev->type, "%s", type);
	snprintf(ev->instance, sizeof ev->instance, "%s", instance ? instance : "");
	snprintf(ev->project, sizeof ev->project, "%s", project ? project : "");
	vsnprintf(ev->detail, sizeof ev->detail, fmt, ap);
	pthread_cond_broadcast(&b->more);
	pthread_mutex_unlock(&b->lock);
}

void events_publish(struct events *b, const char *type, const char *instance,
		    const char *fmt, ...)
{
	if (!b)
		return;
	va_list ap;
	va_start(ap, fmt);
	publish(b, NULL, type, instance, fmt, ap);
	va_end(ap);
}

void events_publish_in(struct events *b, const char *project, const char *type,
		       const char *instance, const char *fmt, ...)
{
	if (!b)
		return;
	va_list ap;
	va_start(ap, fmt);
	publish(b, project, type, instance, fmt, ap);
	va_end(ap);
}

bool event_visible(const struct event *ev, const char *project)
{
	if (!project)
		return true;
	if (ev->project[0])
		return !strcmp(ev->project, project);
	return !ev->instance[0];
}

uint64_t events_next_seq(struct events *b)
{
	pthread_mutex_lock(&b->lock);
	uint64_t n = b->next;
	pthread_mutex_unlock(&b->lock);
	return n;
}

int events_wait(struct events *b, uint64_t *cursor, struct event *out, uint64_t *lost,
		int timeout_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	*lost = 0;
	int rc = 0;
	pthread_mutex_lock(&b->lock);
	while (!b->closed && *cursor >= b->next)
		if (pthread_cond_timedwait(&b->more, &b->lock, &until) == ETIMEDOUT)
			break;
	if (b->closed) {
		rc = -ESHUTDOWN;
	} else if (*cursor < b->next) {
		uint64_t oldest = b->next > EVENTS_KEEP ? b->next - EVENTS_KEEP : 1;
		if (*cursor < oldest) {
			*lost = oldest - *cursor;
			*cursor = oldest;
		}
		*out = b->ring[*cursor % EVENTS_KEEP];
		(*cursor)++;
		rc = 1;
	}
	pthread_mutex_unlock(&b->lock);
	return rc;
}

size_t event_json(const struct event *ev, char *buf, size_t len)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddNumberToObject(j, "id", (double)ev->seq);
	cJSON_AddNumberToObject(j, "time_ns", (double)ev->time_ns);
	cJSON_AddStringToObject(j, "type", ev->type);
	cJSON_AddStringToObject(j, "instance", ev->instance);
	cJSON_AddStringToObject(j, "detail", ev->detail);
	if (ev->project[0])
		cJSON_AddStringToObject(j, "project", ev->project);
	size_t n = 0;
	if (len && cJSON_PrintPreallocated(j, buf, (int)len, false))
		n = strlen(buf);
	else if (len)
		buf[0] = 0;
	cJSON_Delete(j);
	return n;
}
