/*
 * The user an OCI image's config runs its process as (image-spec
 * config.md, "User"): "user", "uid", "user:group", "uid:gid", "uid:group"
 * or "user:gid", names looked up in the image's own /etc/passwd and
 * /etc/group, as runc and Podman do.  Without a group, the gid is the
 * user's primary group from /etc/passwd (0 for a uid it does not list),
 * and the user's supplementary groups are those /etc/group lists it in.
 * An empty User is root.  A name the files do not have is an error naming
 * it: the image asks for a user it does not define.
 *
 * The files are the image's, so hostile: they are read through an
 * openat2(RESOLVE_IN_ROOT) of the container's root (a symbolic link to
 * /etc/shadow resolves inside it), at most 1 MiB each, and a line that
 * does not parse is skipped.
 */
#ifndef NIMBUS_DAEMON_OCI_USER_H
#define NIMBUS_DAEMON_OCI_USER_H

#include <stddef.h>

#include "lib/err.h"

#define OCI_USER_GROUPS_MAX 32

struct oci_user {
	unsigned uid, gid;
	unsigned groups[OCI_USER_GROUPS_MAX];   /* supplementary gids */
	size_t ngroups;
};

/* From the text of /etc/passwd and /etc/group (either may be NULL: a file
 * the image lacks). */
int oci_user_parse(const char *spec, const char *passwd, const char *group,
		   struct oci_user *out, struct err *e);
/* The same, the files read from the root filesystem at rootfs. */
int oci_user_resolve(const char *rootfs, const char *spec, struct oci_user *out,
		     struct err *e);

#endif
