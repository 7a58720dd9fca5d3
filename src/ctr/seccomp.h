/*
 * linux.seccomp (config-linux.md "Seccomp") compiled with libseccomp.  The
 * filter is built in the runtime process (so errors surface before any child
 * exists) and loaded in the container process just before execve.  Syscall
 * names unknown to this libseccomp/kernel are skipped, as engines' default
 * profiles list syscalls of newer kernels.  SCMP_ACT_NOTIFY (listenerPath)
 * is refused with an error.
 */
#ifndef NIMBUS_CTR_SECCOMP_H
#define NIMBUS_CTR_SECCOMP_H

#include "lib/err.h"

struct cJSON;

/* *out is a scmp_filter_ctx, NULL if spec is NULL. */
int seccomp_build(const struct cJSON *spec, void **out, struct err *e);
int seccomp_apply(void *ctx, struct err *e);
void seccomp_free_ctx(void *ctx);
/* For `features`: JSON arrays of supported actions/operators/archs. */
extern const char *const seccomp_action_names[];
extern const char *const seccomp_op_names[];
extern const char *const seccomp_arch_names[];

#endif
