/* Starting a child VM process for vm_fork (see vm_fork_child.c). */
#ifndef NIMBUS_CLI_VM_FORK_CHILD_H
#define NIMBUS_CLI_VM_FORK_CHILD_H

#include "lib/err.h"
#include "vmm/vm.h"

struct vm_fork_ctx {
	int argc;
	char **argv;     /* a copy of `vm run`'s arguments, taken before parsing */
};

int vm_fork_ctx_init(struct vm_fork_ctx *f, int argc, char **argv);
void vm_fork_ctx_free(struct vm_fork_ctx *f);
/* The vm_config.fork_children hook; ctx is a struct vm_fork_ctx. */
int vm_fork_children_start(void *ctx, const char *dir, unsigned n, bool running, int image,
			   int diff, struct vm_fork_child *out, unsigned *started, struct err *err);

#endif
