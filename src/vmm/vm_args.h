/*
 * Parsing of the user-facing device options of a VM (`--disk ...`), shared
 * by the CLI and, later, the daemon's API.
 */
#ifndef NIMBUS_VMM_VM_ARGS_H
#define NIMBUS_VMM_VM_ARGS_H

#include "lib/err.h"
#include "vmm/vm.h"

/*
 * Parses "PATH[,ro][,format=raw|qcow2][,serial=STRING]" in place (the string
 * is cut at the commas and must outlive the VM).  0, or -EINVAL with err
 * naming the bad part.
 */
int vm_disk_parse(char *spec, struct vm_disk *out, struct err *err);

/*
 * The riscv64 Linux kernel keeps at most COMMAND_LINE_SIZE (1024) bytes of
 * its command line, NUL included, and silently drops the rest: a longer
 * --append is refused instead.  0, or -E2BIG with err giving both lengths.
 */
#define VM_APPEND_MAX 1023
int vm_append_check(const char *append, struct err *err);

#endif
