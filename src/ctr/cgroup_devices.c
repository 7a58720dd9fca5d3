/*
 * Device rules on cgroup v2 (kernel Documentation/admin-guide/cgroup-v2.rst
 * "Device controller"): v2 has no devices.allow; access is decided by an
 * eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup.
 * We translate linux.resources.devices into such a program: the rules are
 * tested from the last to the first (OCI: the last matching rule wins), the
 * first match returns 1 (allow) or 0 (deny), no match denies.  The default
 * devices every container gets are appended as allow rules, as on v1.
 * The program stays attached (and alive) until the cgroup is removed.
 */
#include "ctr/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct prog { struct bpf_insn *v; size_t n, cap; };

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->v = realloc(p->v, p->cap * sizeof *p->v);
	}
	p->v[p->n++] = (struct bpf_insn){ .code = code, .dst_reg = dst, .src_reg = src, .off = off,
					  .imm = imm };
}

/* Registers: r2 type, r3 access, r4 major, r5 minor (from bpf_cgroup_dev_ctx). */
/* Returns true when the rule matches everything (nothing after it runs). */
static bool rule(struct prog *p, char type, const char *access, int64_t major, int64_t minor,
		 bool allow)
{
	size_t start = p->n;
	int jumps[4], nj = 0;
	if (type == 'b' || type == 'c') {
		jumps[nj++] = (int)p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0,
		     type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
	}
	int acc = 0;
	for (const char *a = access; *a; a++)
		acc |= *a == 'r' ? BPF_DEVCG_ACC_READ : *a == 'w' ? BPF_DEVCG_ACC_WRITE : BPF_DEVCG_ACC_MKNOD;
	if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
		/* The request must ask for nothing outside the rule's access. */
		emit(p, BPF_ALU64 | BPF_MOV | BPF_X, 6, 3, 0, 0);
		emit(p, BPF_ALU64 | BPF_AND | BPF_K, 6, 0, 0, ~acc);
		jumps[nj++] = (int)p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, 6, 0, 0, 0);
	}
	if (major >= 0) {
		jumps[nj++] = (int)p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, (int32_t)major);
	}
	if (minor >= 0) {
		jumps[nj++] = (int)p->n;
		emit(p, BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, (int32_t)minor);
	}
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, allow ? 1 : 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	for (int i = 0; i < nj; i++)   /* skip to the next rule */
		p->v[jumps[i]].off = (int16_t)(p->n - (size_t)jumps[i] - 1);
	(void)start;
	return nj == 0;
}

int cg2_devices(const char *dir, const struct oci_resources *r, struct err *e)
{
	if (!r->ndevs)
		return 0;
	struct prog p = { 0 };
	/* r2 = type, r3 = access, r4 = major, r5 = minor */
	emit(&p, BPF_LDX | BPF_MEM | BPF_W, 2, 1, 0, 0);
	emit(&p, BPF_ALU64 | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
	emit(&p, BPF_LDX | BPF_MEM | BPF_W, 3, 1, 0, 0);
	emit(&p, BPF_ALU64 | BPF_RSH | BPF_K, 3, 0, 0, 16);
	emit(&p, BPF_LDX | BPF_MEM | BPF_W, 4, 1, 4, 0);
	emit(&p, BPF_LDX | BPF_MEM | BPF_W, 5, 1, 8, 0);
	static const struct { char t; int maj, min; } defaults[] = {
		{ 'c', 1, 3 }, { 'c', 1, 5 }, { 'c', 1, 7 }, { 'c', 1, 8 }, { 'c', 1, 9 },
		{ 'c', 5, 0 }, { 'c', 5, 1 }, { 'c', 5, 2 }, { 'c', 136, -1 },
	};
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
		rule(&p, defaults[i].t, "rwm", defaults[i].maj, defaults[i].min, true);
	bool total = false;
	for (size_t i = r->ndevs; i-- > 0 && !total;) {
		const struct oci_devrule *d = &r->devs[i];
		total = rule(&p, d->type, d->access, d->major, d->minor, d->allow);
	}
	if (!total) {   /* no rule matched: deny */
		emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
		emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	}

	char log[4096] = "";
	union bpf_attr a;
	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uint64_t)(uintptr_t)p.v;
	a.insn_cnt = (uint32_t)p.n;
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof log;
	a.log_level = 1;
	int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &a, sizeof a);
	free(p.v);
	if (prog < 0)
		return err_set(e, -errno, "cgroup v2 device rules: loading the eBPF program: %s%s%.200s",
			       strerror(errno), log[0] ? ": " : "", log);
	int cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		int rc = -errno;
		close(prog);
		return err_set(e, rc, "%s: %s", dir, strerror(-rc));
	}
	memset(&a, 0, sizeof a);
	a.target_fd = (uint32_t)cg;
	a.attach_bpf_fd = (uint32_t)prog;
	a.attach_type = BPF_CGROUP_DEVICE;
	a.attach_flags = BPF_F_ALLOW_MULTI;
	int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &a, sizeof a) < 0 ? -errno : 0;
	close(cg);
	close(prog);
	if (rc)
		return err_set(e, rc, "cgroup v2 device rules: attaching to %s: %s", dir, strerror(-rc));
	return 0;
}
