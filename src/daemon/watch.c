/* See watch.h. */
#include "daemon/watch.h"
#include "daemon/instance.h"
#include "daemon/log_keep.h"
#include "daemon/proc.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A control-protocol line is at most a few KiB; a longer one is skipped. */
#define LINE_MAX_BYTES 8192

struct watcher {
	struct watcher *next;
	struct watches *set;
	char name[INSTANCE_NAME_MAX + 1];
	long long pid, pid_start;
	int fd, wake;
	bool lines;
	int log_fd;             /* a container's: its log directory's inotify (log_keep.h), or -1 */
	char log_dir[4096];
	pthread_t thread;
};

struct watches {
	pthread_mutex_t lock;
	struct watch_sink sink;
	struct watcher *head;
};

int watch_pidfd(pid_t pid, long long start)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0)
		return -errno;
	/* Opened after the check could name a recycled pid: check again. */
	if (proc_start_time(pid) != start) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

/* One event line: hand it to the sink; remember how a VM ended. */
static void on_line(struct watcher *w, char *line, char *why, size_t whylen)
{
	cJSON *j = cJSON_Parse(line);
	const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
	const cJSON *det = cJSON_GetObjectItemCaseSensitive(j, "detail");
	if (cJSON_IsString(ev)) {
		const char *d = cJSON_IsString(det) ? det->valuestring : "";
		if (!strcmp(ev->valuestring, "powered-off"))
			snprintf(why, whylen, "powered off%s%s", *d ? ": " : "", d);
		else if (!strcmp(ev->valuestring, "stopped"))
			snprintf(why, whylen, "%s", *d ? d : "stopped");
		w->set->sink.event(w->set->sink.cookie, w->name, ev->valuestring, d);
	}
	cJSON_Delete(j);
}

static void *run(void *arg)
{
	struct watcher *w = arg;
	char *buf = w->lines ? malloc(LINE_MAX_BYTES) : NULL;
	size_t have = 0;
	char why[256] = "";
	bool ended = false, skipping = false;
	for (;;) {
		struct pollfd pf[3] = { { .fd = w->fd, .events = POLLIN }, { .fd = w->wake, .events = POLLIN },
					{ .fd = w->log_fd, .events = POLLIN } };
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents)
			break;   /* cancelled */
		if (pf[2].revents) {
			if (log_keep_replaced(w->log_fd))
				log_keep_sync(w->log_dir);
			if (!pf[0].revents)
				continue;
		}
		if (!w->lines) {
			ended = true;   /* a pidfd is readable once its process ended */
			break;
		}
		if (!buf) {
			ended = !proc_alive((pid_t)w->pid, w->pid_start);
			break;
		}
		ssize_t n = read(w->fd, buf + have, LINE_MAX_BYTES - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ended = true;   /* the VMM closed the stream: it has gone */
			break;
		}
		have += (size_t)n;
		char *nl;
		while ((nl = memchr(buf, '\n', have))) {
			*nl = 0;
			if (!skipping)
				on_line(w, buf, why, sizeof why);
			skipping = false;
			size_t used = (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have - used);
			have -= used;
		}
		if (have == LINE_MAX_BYTES - 1) {
			skipping = true;
			have = 0;
		}
	}
	free(buf);
	if (ended) {
		/* The socket closes a moment before the VMM process is gone. */
		proc_wait_gone((pid_t)w->pid, w->pid_start, 5000);
		w->set->sink.ended(w->set->sink.cookie, w->name, w->pid, w->pid_start, why);
	}
	return NULL;
}

struct watches *watches_new(const struct watch_sink *sink)
{
	struct watches *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	pthread_mutex_init(&w->lock, NULL);
	w->sink = *sink;
	return w;
}

static void finish(struct watcher *x)
{
	uint64_t one = 1;
	if (write(x->wake, &one, sizeof one) < 0) {
		/* an eventfd write fails only on overflow: the thread is woken anyway */
	}
	pthread_join(x->thread, NULL);
	close(x->fd);
	close(x->wake);
	if (x->log_fd >= 0)
		close(x->log_fd);
	free(x);
}

static struct watcher *unlink_named(struct watches *w, const char *name)
{
	pthread_mutex_lock(&w->lock);
	struct watcher **p = &w->head, *x = NULL;
	for (; *p; p = &(*p)->next)
		if (!strcmp((*p)->name, name)) {
			x = *p;
			*p = x->next;
			break;
		}
	pthread_mutex_unlock(&w->lock);
	return x;
}

void watches_cancel(struct watches *w, const char *name)
{
	if (!w)
		return;
	struct watcher *x = unlink_named(w, name);
	if (x)
		finish(x);
}

int watches_add(struct watches *w, const char *name, long long pid, long long pid_start, int fd,
		int lines, const char *log_dir)
{
	watches_cancel(w, name);
	struct watcher *x = calloc(1, sizeof *x);
	if (!x) {
		close(fd);
		return -ENOMEM;
	}
	x->set = w;
	snprintf(x->name, sizeof x->name, "%s", name);
	x->pid = pid;
	x->pid_start = pid_start;
	x->fd = fd;
	x->lines = lines;
	x->log_fd = -1;   /* poll ignores a negative fd */
	if (log_dir && snprintf(x->log_dir, sizeof x->log_dir, "%s", log_dir) < (int)sizeof x->log_dir) {
		x->log_fd = log_keep_watch(log_dir);   /* before the sync: no cut slips between */
		log_keep_sync(log_dir);
	}
	x->wake = eventfd(0, EFD_CLOEXEC);
	int rc;
	if (x->wake < 0) {
		rc = -errno;
		goto fail;
	}
	/* Small stacks: a watcher only polls and parses a line.  (Static TLS
	 * comes out of the same stack: keep thread-locals small in this
	 * program, or this fails.) */
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 128 * 1024);
	rc = -pthread_create(&x->thread, &a, run, x);
	pthread_attr_destroy(&a);
	if (rc < 0)
		fprintf(stderr, "nimbus daemon: instance \"%s\": cannot watch it (%s); its end is "
			"noticed when it is next read\n", name, strerror(-rc));
	if (rc < 0)
		goto fail;
	pthread_mutex_lock(&w->lock);
	x->next = w->head;
	w->head = x;
	pthread_mutex_unlock(&w->lock);
	return 0;
fail:
	if (x->wake >= 0)
		close(x->wake);
	if (x->log_fd >= 0)
		close(x->log_fd);
	close(fd);
	free(x);
	return rc;
}

void watches_free(struct watches *w)
{
	if (!w)
		return;
	for (;;) {
		pthread_mutex_lock(&w->lock);
		struct watcher *x = w->head;
		if (x)
			w->head = x->next;
		pthread_mutex_unlock(&w->lock);
		if (!x)
			break;
		finish(x);
	}
	pthread_mutex_destroy(&w->lock);
	free(w);
}
