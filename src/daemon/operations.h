/*
 * Long operations (image import; later snapshot and migration): each one an
 * object the API returns at once (202) and clients poll or wait on
 * (GET /1.0/operations/ID?wait=SECONDS), with its progress.
 *
 * The rows of the `operations` table are the journal: an operation is
 * written when it starts, at each stage and when it ends, so after a
 * `kill -9` of the daemon the next one finds those left `running`, marks
 * them failed ("the daemon stopped during it") and its owner rolls back
 * what they left (an import's scratch files: service.c).  Waiters sleep on
 * a condition variable the updates signal.  Finished operations are kept
 * for OPERATIONS_KEEP_S.
 *
 * An operation belongs to a project (the one whose instance, network or
 * volume it works on) or to the host (an image import): a token sees only
 * its own project's, the host admin every one (operation_visible).
 */
#ifndef NIMBUS_DAEMON_OPERATIONS_H
#define NIMBUS_DAEMON_OPERATIONS_H

#include <pthread.h>
#include <stdbool.h>

#include "daemon/db.h"
#include "lib/err.h"

#define OPERATION_ID_MAX 40
#define OPERATIONS_KEEP_S (24 * 3600)

struct operation {
	char id[OPERATION_ID_MAX];      /* "op-" and 32 hex digits */
	char type[32];                  /* "image-import" */
	char status[16];                /* running, success, failure */
	int progress;                   /* 0-100 */
	char stage[160];
	char error[512];
	char resource[128];             /* what it makes: /1.0/images/NAME */
	char project[64];               /* the project it acts in; "" for the host's (image import) */
	long long created_at, updated_at;
};

struct operations;

/* Marks the operations a dead daemon left running as failed; returns how
 * many in *interrupted. */
struct operations *operations_open(struct db *db, pthread_mutex_t *lock, int *interrupted,
				    struct err *e);
void operations_free(struct operations *o);

/* The database is the service's and is guarded by its lock: these take
 * that lock (passed at open) themselves. */
/* An operation of the host's own (project ""), seen by the host admin only. */
int operations_start(struct operations *o, const char *type, const char *resource,
		     struct operation *out, struct err *e);
/* An operation in project (on its instance, network or volume): seen by
 * that project's tokens and the host admin. */
int operations_start_in(struct operations *o, const char *project, const char *type,
			const char *resource, struct operation *out, struct err *e);
/* Whether a caller of project (NULL: the host admin) may see op.  One it
 * may not is answered exactly as a missing one. */
bool operation_visible(const struct operation *op, const char *project);
void operations_progress(struct operations *o, const char *id, int pct, const char *stage);
/* The error of an operation a dead daemon left running (operations_open). */
#define OPERATION_INTERRUPTED "the daemon stopped during the operation (rolled back at its restart)"
/* The latest operation of type on resource (in project) that a dead daemon
 * left running, once its work has been found to have finished after all
 * (failure NULL: success, with stage saying how) or to have failed as
 * `failure` says.  How many were settled (0 or 1), or -EIO. */
int operations_settle_interrupted(struct operations *o, const char *project, const char *type,
				  const char *resource, const char *failure, const char *stage);
void operations_finish(struct operations *o, const char *id, const struct err *failure);
int operations_get(struct operations *o, const char *id, int wait_s, struct operation *out,
		   struct err *e);
int operations_list(struct operations *o, struct operation **out, size_t *n, struct err *e);

#endif
