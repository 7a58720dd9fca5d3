/*
 * A container's console log kept to its last generation or two.  conmon
 * (--log-size-max LOGS_GENERATION_MAX) starts the log afresh once it would
 * grow past that: it writes console.log.tmp and renames it over console.log,
 * and the old file would be gone.  A second name for the current file,
 * .console.log.cur, keeps it: when console.log is a new file, .cur becomes
 * console.log.1 (the generation before) and .cur names the new one.  So the
 * last LOGS_GENERATION_MAX bytes and more are always on disk, and never more
 * than twice that; logs_read reads console.log.1 then console.log.
 *
 * The container's watcher (watch.h) calls log_keep_sync when the directory
 * says console.log was replaced (inotify), and once when it starts watching
 * (a daemon that was away may have missed a cut: then .1 is an older
 * generation and the output between is lost, the one case that loses any).
 */
#ifndef NIMBUS_DAEMON_LOG_KEEP_H
#define NIMBUS_DAEMON_LOG_KEEP_H

/* Brings dir's names up to date, as above.  Best effort: a log is not worth
 * failing anything for. */
void log_keep_sync(const char *dir);
/* An inotify fd on dir that is readable when a file is renamed into it,
 * or -errno. */
int log_keep_watch(const char *dir);
/* Reads what the fd has; whether console.log was among the names. */
int log_keep_replaced(int fd);

#endif
