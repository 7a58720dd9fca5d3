/*
 * linux.seccomp (config-linux.md "Seccomp") compiled to BPF with libseccomp
 * in the runtime process (so errors, an oversized filter included, surface
 * before any child exists, and the slow BPF generation happens once); the
 * container process loads the program with seccomp(2) just before execve.  Syscall
 * names unknown to this libseccomp/kernel are skipped, as engines' default
 * profiles list syscalls of newer kernels.  SCMP_ACT_NOTIFY (listenerPath)
 * is refused with an error.
 */
#ifndef NIMBUS_CTR_SECCOMP_H
#define NIMBUS_CTR_SECCOMP_H

#include "lib/err.h"

struct cJSON;

/* *out is the compiled filter (BPF and load flags), NULL if spec is NULL;
 * a filter beyond the kernel's 4096 instructions is refused here, by name. */
int seccomp_build(const struct cJSON *spec, void **out, struct err *e);
/* Loads it into the calling thread (seccomp(2)); no libseccomp work left. */
int seccomp_apply(void *filter, struct err *e);
void seccomp_free_ctx(void *filter);
/* For `features`: JSON arrays of supported actions/operators/archs. */
extern const char *const seccomp_action_names[];
extern const char *const seccomp_op_names[];
extern const char *const seccomp_arch_names[];

#endif
