/*
 * Names unique per project, keys unique per host.  Instances, networks and
 * volumes are named by their owners within a project (two projects may
 * each have a `web`), while what they are on the host (a directory, a
 * bridge, a qcow2 file, the rows that refer to them) needs one host-wide
 * name: the host key, a `host_key` column beside `name` and `project`.
 *
 * A new thing's key is its name when no other row has that key, else the
 * name (cut to 56) and `-` and 6 random hex digits.  Keys never come from
 * requests: a request names a thing in its caller's project, and
 * host_key_find turns that into the key.  Callers hold the service's lock.
 */
#ifndef NIMBUS_DAEMON_HOST_KEY_H
#define NIMBUS_DAEMON_HOST_KEY_H

#include <stddef.h>

#include "daemon/db.h"

/* A free key in table (instances, networks, volumes) for name. */
int host_key_pick(struct db *db, const char *table, const char *name, char *out, size_t len,
		  struct err *e);
/* The key of name in project (NULL: the one of that name on the host);
 * -ENOENT "NOUN \"name\": no such NOUN" when there is none, -EEXIST naming
 * the projects when project is NULL and two or more have one. */
int host_key_find(struct db *db, const char *table, const char *noun, const char *project,
		  const char *name, char *out, size_t len, struct err *e);

#endif
