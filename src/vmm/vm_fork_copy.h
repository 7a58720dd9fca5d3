/* Guest RAM copied into a fork's memory image (see vm_fork_copy.c).
 * Internal to the VM object. */
#ifndef NIMBUS_VMM_VM_FORK_COPY_H
#define NIMBUS_VMM_VM_FORK_COPY_H

#include <stdint.h>

struct bus;

/*
 * With the VM paused: the pages of RAM that hold data into a new memfd of
 * ram_size bytes (its other pages holes).  *image: its descriptor
 * (close-on-exec); *copied: the bytes copied.  0 or -errno (nothing open).
 */
int vm_fork_copy_ram(const struct bus *bus, int *image, uint64_t *copied);

#endif
