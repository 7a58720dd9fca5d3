/*
 * The journal of instance operations: a row per instance with a lifecycle
 * operation in flight (launch, create, start, stop, restart, delete),
 * written before the operation touches anything and removed once its
 * result is in the instances table.  A daemon killed with SIGKILL leaves
 * the rows of what it was doing; the next one reads them before anything
 * else and finishes each operation or rolls it back (service.c,
 * recover_journal), so no instance is left half-launched or half-deleted:
 *
 *   launch  the instance was never acknowledged: rolled back (processes
 *           killed, files and row removed) unless its row already says
 *           running, in which case the launch had finished
 *   create  a row that exists is finished; files with no row are removed
 *   start   running: finished; else rolled back to stopped
 *   stop    finished (a forced stop) if it still runs
 *   restart finished: started if it is not running
 *   delete  finished: whatever runs is killed, files and row removed
 *
 * Keyed by the instance's host key (instance.h); no foreign key, since a
 * launch's row is written before its instance's and a delete's outlives
 * it.  Callers hold the service's lock.
 */
#ifndef NIMBUS_DAEMON_JOURNAL_H
#define NIMBUS_DAEMON_JOURNAL_H

#include <stddef.h>

#include "daemon/db.h"
#include "daemon/instance.h"
#include "lib/err.h"

enum journal_op { JOURNAL_LAUNCH, JOURNAL_CREATE, JOURNAL_START, JOURNAL_STOP,
		  JOURNAL_RESTART, JOURNAL_DELETE };

struct journal_entry {
	char key[INSTANCE_NAME_MAX + 1];
	char name[INSTANCE_NAME_MAX + 1];      /* for events and messages */
	char project[INSTANCE_NAME_MAX + 1];
	enum instance_kind kind;               /* a launch's files are removed before any row */
	enum journal_op op;
	long long started_at;                  /* Unix seconds */
};

const char *journal_op_str(enum journal_op op);

/* Records that op starts on the instance; -EEXIST (e set) if one is already
 * recorded for it (the busy list should have refused the second). */
int journal_begin(struct db *db, const struct instance *in, enum journal_op op, struct err *e);
/* Records that the operation on key ended (done or undone). */
int journal_end(struct db *db, const char *key, struct err *e);
/* The operations a killed daemon left, oldest first, in a new array. */
int journal_list(struct db *db, struct journal_entry **out, size_t *n, struct err *e);

#endif
