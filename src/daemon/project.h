/*
 * Projects and their tokens in the daemon's database.  A project owns
 * instances (and, as they come, networks and volumes) and has quotas; a
 * token belongs to one project.  Deleting a project deletes its tokens (a
 * foreign key cascade) and is refused while it owns anything.  The project
 * "default" is the host admin's: unlimited, never deleted.
 *
 * Every function expects the service's lock held (service_lock()).
 */
#ifndef NIMBUS_DAEMON_PROJECT_H
#define NIMBUS_DAEMON_PROJECT_H

#include <stddef.h>

#include "daemon/auth.h"
#include "daemon/db.h"
#include "daemon/quota.h"

#define PROJECT_DEFAULT "default"

struct project {
	char name[INSTANCE_NAME_MAX + 1];
	long long created_at;
	struct quota limit;
};

struct token_info {
	char id[TOKEN_ID_LEN + 1];
	char project[INSTANCE_NAME_MAX + 1];
	enum role role;
	long long created_at;
};

/* -EEXIST if taken; limit NULL for quota_defaults. */
int project_create(struct db *db, const char *name, const struct quota *limit, struct err *e);
/* -ENOENT: "project \"NAME\": no such project". */
int project_get(struct db *db, const char *name, struct project *out, struct err *e);
int project_list(struct db *db, struct project **out, size_t *n, struct err *e);
/* -EBUSY while it owns instances; -EPERM for "default". */
int project_delete(struct db *db, const char *name, struct err *e);
/* Sets the limits whose bit is in mask (1 << quota_kind). */
int project_set_quota(struct db *db, const char *name, unsigned mask, const struct quota *q,
		      struct err *e);
/* What the project holds now. */
int project_usage(struct db *db, const char *name, struct quota *out, struct err *e);
/* Whether the project exists and need fits in its quotas (-ENOENT, -EDQUOT). */
int project_admit(struct db *db, const char *name, const struct quota *need, struct err *e);

int token_insert(struct db *db, const char *id, const char *hash, const char *project,
		 enum role role, struct err *e);
/* Tokens of project (NULL: all), never their secrets. */
int token_list(struct db *db, const char *project, struct token_info **out, size_t *n,
	       struct err *e);
/* Revokes at once: the next request with it is refused.  -ENOENT if there
 * is no such token in project (NULL: any project). */
int token_delete(struct db *db, const char *id, const char *project, struct err *e);
/* The caller a presented token stands for; -EACCES if it is unknown or revoked. */
int token_authenticate(struct db *db, const char *secret, struct caller *out, struct err *e);

#endif
