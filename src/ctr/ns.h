/*
 * Namespaces (config-linux.md "Namespaces", "User namespace mappings";
 * namespaces(7), setns(2), user_namespaces(7)).  Joining by path happens in
 * the intermediate child before any unshare; the user namespace is joined or
 * created first so that the others are owned by it.  uid_map/gid_map are
 * written by the runtime process (it holds the capabilities in the parent
 * user namespace).
 */
#ifndef NIMBUS_CTR_NS_H
#define NIMBUS_CTR_NS_H

#include <stdbool.h>
#include <sys/types.h>

#include "ctr/config.h"
#include "lib/err.h"

/* Opens every linux.namespaces[].path (fds[i] = -1 when not joined). */
int ns_open_paths(const struct oci_config *c, int fds[NS_COUNT], struct err *e);
/* Opens the /proc/PID/ns/ entries that differ from ours (exec into a container). */
int ns_open_pid(pid_t pid, int fds[NS_COUNT], struct err *e);
/* setns each open fd: user first, mount last; closes them. */
int ns_join(int fds[NS_COUNT], struct err *e);
void ns_close(int fds[NS_COUNT]);
/* Flags for unshare(2): wanted namespaces without a path (user excluded). */
int ns_unshare_flags(const struct oci_config *c);
/* Writes /proc/PID/uid_map and gid_map from the config. */
int ns_write_maps(pid_t pid, const struct oci_config *c, struct err *e);

#endif
