/*
 * Post-copy live migration (`migrate --postcopy`, docs/migration.md): the
 * source pauses the VM and sends its device state first, with no page of
 * RAM; the target builds the VM over RAM registered with userfaultfd, runs
 * it at once, and fetches each page the guest (or a device) touches from the
 * source, while the source pushes the rest in the background.
 *
 * The stream until the state is the pre-copy one, with a 'Q' frame (empty)
 * before 'S'.  Then, source to target: 'P' and 'Z' frames as in pre-copy,
 * and 'Y' (empty) once every page that may hold data went; target to
 * source: 'R' frames (u64 page numbers, CRC-framed like the others) and the
 * answer ('K' running, or 'F' with a reason), as in pre-copy.
 *
 * Failure: before the target's 'K' the source runs on as if nothing
 * happened.  After it the VM exists only in the target, and its RAM is in
 * both: if the connection breaks then, the target cannot go on (pages are
 * missing) and exits with one line, and the source stops; the VM is lost, as
 * with QEMU's post-copy.  Pre-copy has no such window.
 */
#ifndef NIMBUS_VMM_VM_POSTCOPY_H
#define NIMBUS_VMM_VM_POSTCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/vm.h"
#include "vmm/vm_migrate.h"

struct bus;
struct mig_postcopy;

/*
 * Source, with the VM paused and its state sent on fd: serves the target's
 * requests and pushes every page that may hold data, then 'Y'; the
 * downtime in info runs from paused_at (vclock_host_ns) to the target's
 * answer that it runs.  0: the
 * target runs and has every page.  -EREMOTEIO: the target refused the VM
 * (err says why; it never ran).  Else -errno with err set; *target_runs
 * says whether the target had answered that it runs.
 */
int mig_postcopy_serve(int fd, const struct bus *bus, int64_t paused_at,
		       struct vm_migrate_info *info, bool *target_runs, struct err *err);

/*
 * Target, after the stream up to the state (vm_migrate_receive_into) and
 * before the VM is built: empties the VM's RAM, registers it with
 * userfaultfd and starts the thread that fetches missing pages over fd.
 * 0 or -errno with err set.
 */
int mig_postcopy_target_start(struct vm *vm, int fd, const char *what, struct mig_postcopy **out,
			      struct err *err);
/* The answer to the source (rc 0: 'K'; else 'F' and msg); fd stays open.
 * Returns rc, or -ECONNRESET if the VM must not run after all: the stream
 * broke before 'K' went (it did not). */
int mig_postcopy_answer(struct mig_postcopy *pc, int rc, const char *msg);
/* Waits until every page arrived (or, if the VM never ran, ends the stream),
 * then closes fd and frees pc.  NULL: nothing. */
void mig_postcopy_target_end(struct mig_postcopy *pc);

#endif
