/*
 * Parsing of the user-facing device options of a VM (`--disk ...`), shared
 * by the CLI and, later, the daemon's API.
 */
#ifndef NIMBUS_VMM_VM_ARGS_H
#define NIMBUS_VMM_VM_ARGS_H

#include "lib/err.h"
#include "vmm/vm.h"

/*
 * "slot=N" (N a virtio-mmio slot, 0..7) of the option `flag` into out.  0,
 * -EINVAL naming flag and N when bad or out of range, or -ENOENT (err
 * untouched) when opt is not a slot= option.
 */
int vm_slot_parse(const char *flag, const char *opt, struct vm_slot *out, struct err *err);

/*
 * Removes every "slot=N" element from a comma-separated option string, in
 * place ("user,slot=2,mac=M" -> "user,mac=M"), for options whose own parser
 * knows nothing of slots.  0 or -EINVAL as vm_slot_parse.
 */
int vm_slot_take(const char *flag, char *spec, struct vm_slot *out, struct err *err);

/*
 * Parses "PATH[,ro][,format=raw|qcow2][,serial=STRING][,slot=N]
 * [,backing=confined|any]" in place (the string
 * is cut at the commas and must outlive the VM).  0, or -EINVAL with err
 * naming the bad part.
 */
int vm_disk_parse(char *spec, struct vm_disk *out, struct err *err);

/*
 * "N:PATH[,serial=ID]" of --slot-disk (cut in place, as vm_disk_parse) into
 * cfg->slot_disks[N]: N from 0 to VM_MAX_DISK_SLOTS - 1, each once; the
 * image is qcow2 and writable (format=qcow2 may be said, ro, slot= and
 * format=raw not).  0, or -EINVAL naming the bad part.
 */
int vm_slot_disk_parse(char *spec, struct vm_config *cfg, struct err *err);

/*
 * "N:IFNAME" of --slot-nic into cfg->slot_taps[N] (pointing into spec):
 * N from 0 to VM_MAX_NETS - 1, each once; IFNAME a TAP's name, 1 to 15
 * characters.  0, or -EINVAL naming the bad part.
 */
int vm_slot_nic_parse(const char *spec, struct vm_config *cfg, struct err *err);

/*
 * "N[,mac=MAC]" of --net-slots into cfg->net_slots and net_slot_mac: N
 * from 0 to VM_MAX_NETS; with mac=, slot i gets MAC + i (its last three
 * bytes counted up, which must not wrap).  0, or -EINVAL naming the bad part.
 */
int vm_net_slots_parse(const char *spec, struct vm_config *cfg, struct err *err);

/*
 * The riscv64 Linux kernel keeps at most COMMAND_LINE_SIZE (1024) bytes of
 * its command line, NUL included, and silently drops the rest: a longer
 * --append is refused instead.  0, or -E2BIG with err giving both lengths.
 */
#define VM_APPEND_MAX 1023
int vm_append_check(const char *append, struct err *err);

#endif
