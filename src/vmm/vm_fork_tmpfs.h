/* A private tmpfs with huge pages for guest RAM a fork hands over (see
 * vm_fork_tmpfs.c).  Internal to the VM object. */
#ifndef NIMBUS_VMM_VM_FORK_TMPFS_H
#define NIMBUS_VMM_VM_FORK_TMPFS_H

#include <stdbool.h>
#include <stdint.h>

/* A tmpfs of this process's own, mounted nowhere, whose files get huge
 * pages: its mount descriptor (close-on-exec), or -errno (EPERM: no
 * CAP_SYS_ADMIN). */
int vm_fork_tmpfs_mount(void);

/* Whether vm_fork_tmpfs_mount works here (it mounts one and lets it go). */
bool vm_fork_tmpfs_available(void);

/* A new file of size bytes on that tmpfs (mnt), its name (shown in
 * /proc/PID/maps) `name-N`, unlinked at once: its descriptor
 * (close-on-exec), or -errno. */
int vm_fork_tmpfs_file(int mnt, const char *name, uint64_t size);

#endif
