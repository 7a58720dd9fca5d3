/*
 * The clone notice (docs/snapshot.md, "The clone notice"): a VM restored
 * from a snapshot, or forked, runs with the memory of another, and so with
 * its random number generator's state and every identity it derived (host
 * keys, DHCP client ids, UUIDs).  Once it runs, this tells the guest, through
 * its agent (docs/guest-agent.md): 64 bytes of host randomness are mixed
 * into its entropy pool (written to /dev/urandom) and a fresh generation id,
 * 32 hex digits, is written to /run/nimbus/generation, which guest software
 * can watch to renew what must be unique.  A fork's child also has new MACs
 * (vm_fork_nics.c): each guest interface still on the parent's takes the
 * child's (`ip link set ... address`) before the id is written.  Linux's vmgenid would be the
 * kernel's own way, but the guest kernel knows it only from ACPI, which the
 * virt board has not.
 *
 * One thread per notice, started before the VM runs: it waits for the VM to
 * be running (a forked child waits paused) and for the agent to listen, sends
 * the notice once, and ends.  A guest without an agent gets none.
 */
#ifndef NIMBUS_VMM_VM_CLONE_NOTICE_H
#define NIMBUS_VMM_VM_CLONE_NOTICE_H

#include "lib/err.h"
#include "vmm/vm.h"

#define VM_GENERATION_FILE "/run/nimbus/generation"

struct vm_clone_notice;

/* Starts the notice's thread for vm (restored; its cfg has an agent).
 * 0 or -errno with err. */
int vm_clone_notice_start(struct vm *vm, struct vm_clone_notice **out, struct err *err);
/* Ends the thread (given up if not sent yet) and frees n; NULL is fine. */
void vm_clone_notice_stop(struct vm_clone_notice *n);

#endif
