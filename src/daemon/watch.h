/*
 * Watchers: one thread per running instance that tells the daemon, without
 * polling, when the instance's supervisor ends and what its VMM reports.
 * A container is watched through a pidfd on its conmon (readable when it
 * exits); a VM through its control socket subscribed to the `events`
 * stream (docs/control.md): each event line goes to the sink, and the end
 * of the stream is the end of the VMM.
 *
 * The set belongs to one service (no file-scope state).  A watcher is
 * cancelled (its thread woken through an eventfd and joined) when its
 * instance is deleted or restarted, or when the set is closed; the sink's
 * callbacks run on the watcher's thread and must not cancel it.
 */
#ifndef NIMBUS_DAEMON_WATCH_H
#define NIMBUS_DAEMON_WATCH_H

#include <sys/types.h>

struct watch_sink {
	/* An event line of the VMM: its kind and detail. */
	void (*event)(void *cookie, const char *name, const char *type, const char *detail);
	/* The supervisor (pid, start) ended; why: the VMM's last word, or "". */
	void (*ended)(void *cookie, const char *name, long long pid, long long pid_start,
		      const char *why);
	void *cookie;
};

struct watches;

struct watches *watches_new(const struct watch_sink *sink);
/* Cancels every watcher and frees the set. */
void watches_free(struct watches *w);

/* Watches name through fd (taken over: closed by the watcher): lines of
 * control-protocol events if lines, else a pidfd.  A watcher name already
 * had is cancelled first.  log_dir (a container's directory, or NULL): its
 * console log is kept across conmon's cuts meanwhile (log_keep.h). */
int watches_add(struct watches *w, const char *name, long long pid, long long pid_start, int fd,
		int lines, const char *log_dir);
/* Cancels name's watcher, if any, and waits for its thread. */
void watches_cancel(struct watches *w, const char *name);

/* A pidfd for (pid, start), or -errno (the process is gone or recycled). */
int watch_pidfd(pid_t pid, long long start);

#endif
