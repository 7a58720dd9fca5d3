/*
 * Profiles: named, reusable bundles of an instance's configuration (cpus,
 * memory, network, disks), as LXD has them.  A launch names one (`nimbus
 * launch --profile NAME`, "profile" in POST /1.0/instances) or gets the
 * profile `default`, which always exists (empty at first; it can be changed,
 * not deleted).  What the launch itself gives wins over the profile's.
 *
 * A profile is copied into the instance when it is launched: changing or
 * deleting a profile later changes no instance (each keeps what it was
 * launched with, and `config set` changes it).  So nothing depends on a
 * profile and any but `default` can be deleted at any time.
 *
 * Rows of the `profiles` table; the bundle is a JSON object in its config
 * column, {"cpus", "memory_mib", "network", "disks": {"D": MiB}}, each
 * member absent when unset.  Profiles are the host's (as images are):
 * every project sees them, only the host admin changes them.
 */
#ifndef NIMBUS_DAEMON_PROFILE_H
#define NIMBUS_DAEMON_PROFILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

#include "daemon/db.h"
#include "daemon/disks.h"
#include "daemon/request.h"
#include "lib/err.h"

#define PROFILE_DEFAULT "default"
#define PROFILE_DESCRIPTION_MAX 255

struct profile {
	char name[INSTANCE_NAME_MAX + 1];
	char description[PROFILE_DESCRIPTION_MAX + 1];
	int cpus;                    /* 0: unset */
	long long memory_mib;        /* 0: unset */
	char network[INSTANCE_NAME_MAX + 1];   /* "": unset */
	struct disk disks[DISKS_MAX];
	size_t ndisks;
	long long created_at;
};

/* A request body onto p: POST (create: "name" required) or PATCH (each
 * field given replaces p's; null unsets it; "disks" entries are merged, a
 * null one removes that disk).  Strict as every body (request.h). */
int profile_parse(const char *body, size_t len, bool create, struct profile *p,
		  struct err *e);
cJSON *profile_json(const struct profile *p);
/* Its "config": what is set, nothing else (also the stored form). */
cJSON *profile_config_json(const struct profile *p);

/* The database (the service's lock held).  get: -ENOENT naming it;
 * insert: -EEXIST; delete: -ENOENT, and -EBUSY for `default`. */
int profile_get(struct db *db, const char *name, struct profile *out, struct err *e);
int profile_list(struct db *db, struct profile **out, size_t *n, struct err *e);
int profile_insert(struct db *db, const struct profile *p, struct err *e);
int profile_update(struct db *db, const struct profile *p, struct err *e);
int profile_delete(struct db *db, const char *name, struct err *e);

/* Fills what r leaves unset (cpus, memory, network) from p. */
void profile_apply(const struct profile *p, struct create_req *r);

#endif
