/*
 * What the `nimbus vm control` client's files share: vm_control.c (the
 * verbs with one reply) and vm_control_exec.c (exec, which streams).
 */
#ifndef NIMBUS_CLI_VM_CONTROL_H
#define NIMBUS_CLI_VM_CONTROL_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#define MAX_REPLY (256 * 1024)

/* A connection's bytes read so far. */
struct reader {
	int fd;
	char *buf;
	size_t len;
};

/* The socket, or -2 (bad path) / -1 (cannot connect), reported. */
int vmc_connect(const char *path);
/* The next line (malloc'ed), waiting up to timeout_ms (-1: no limit); NULL
 * when the connection ends or the wait runs out (reported). */
char *vmc_read_line(struct reader *r, const char *path, int timeout_ms);
/* Connects and sends line (malloc'ed, taken); the socket, or minus the exit status. */
int vmc_send_request(const char *path, char *line);
double vmc_num(const cJSON *o, const char *k);
const char *vmc_str(const cJSON *o, const char *k);

/* snapshot DIR (verb "snapshot", or "fork" for its snapshot only) into
 * files this client opens and passes (a sandboxed VMM), with disks a file
 * per disk too; the reply line (malloc'ed), or NULL (reported).
 * vm_control_snapshot.c. */
char *vmc_snapshot_into_passed_files(const char *path, const char *dir, const char *verb,
				     bool paused, bool incremental, bool disks);
/* fork DIR for a sandboxed VMM: its snapshot through passed files, then the
 * children started here, from the command line of the VMM's launcher; the
 * reply line as the VMM's own fork would give it, or NULL (reported).
 * vm_control_fork.c. */
char *vmc_fork_started_here(const char *path, const char *dir, unsigned count, bool running);

/* Sends the request req (a line of it) with nfds descriptors and reads the
 * reply line (malloc'ed), or NULL (reported).  vm_control_migrate.c. */
char *vmc_ask_with_fds(const char *path, cJSON *req, const int *fds, unsigned nfds,
		       int timeout_ms);
/* migrate for a sandboxed VMM: req (the "migrate" request) again, with a
 * connection to its "uri" made here and passed ("fds"); the reply line, or
 * NULL (reported).  vm_control_migrate.c. */
char *vmc_migrate_over_passed_conn(const char *path, cJSON *req);

/* Prints the VM's `migration` events to stderr from a thread of its own
 * until stopped; NULL (nothing printed) when it cannot subscribe.
 * vm_control_migrate.c. */
struct vmc_progress;
struct vmc_progress *vmc_progress_start(const char *path);
void vmc_progress_stop(struct vmc_progress *w);

/* `vm control [--json] SOCKET exec ARGS...` from its arguments after `exec`; the exit status. */
int vmc_exec(const char *path, bool json, int argc, char **argv);

#endif
