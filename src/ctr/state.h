/*
 * The state store: one directory per container under the runtime root
 * (default /run/nimbus-runtime/ID/), holding state.json (what `create`
 * recorded: init pid and its start time, bundle, cgroup) and, between
 * `create` and `start`, the exec fifo "exec.fifo".  Directory creation with
 * mkdir(2) is what makes ids unique.  The live status is derived, never
 * stored: see container_status() in container.h.
 */
#ifndef NIMBUS_CTR_STATE_H
#define NIMBUS_CTR_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lib/err.h"

struct cJSON;

struct ctr_state {
	char id[1025];
	pid_t pid;
	unsigned long long start_time;   /* /proc/PID/stat starttime of the init */
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	char created[64];
	char cgroup[PATH_MAX];           /* cgroup path under each hierarchy root */
	bool systemd_cgroup;
	bool userns;                     /* container has its own user namespace */
	char *annotations;               /* JSON object text, malloc'd, may be NULL */
};

enum ctr_status { ST_CREATING, ST_CREATED, ST_RUNNING, ST_PAUSED, ST_STOPPED };
const char *status_name(enum ctr_status s);

/* root/id into buf. */
int state_dir(const char *root, const char *id, char *buf, size_t n, struct err *e);
/* root/DIR/file where DIR stands for id (see id_file_name()). */
int state_file(const char *root, const char *id, const char *file, char *buf, size_t n);
/* mkdir root (if needed) and root/id; -EEXIST "container "id" already exists". */
int state_create(const char *root, const char *id, struct err *e);
int state_save(const char *root, const struct ctr_state *s, struct err *e);
/* -ENOENT "container "id" does not exist".  id may also be the directory
 * name that stands for a long id; s->id is then the full id. */
int state_load(const char *root, const char *id, struct ctr_state *s, struct err *e);
/* Removes root/id and everything in it. */
int state_remove(const char *root, const char *id);
void state_free(struct ctr_state *s);
/* The OCI state object (state.md) as JSON text, malloc'd. */
char *state_oci_json(const struct ctr_state *s, enum ctr_status st, bool pretty,
		     const char *extra_key, long long extra_val);

#endif
