/* See seccomp.h. */
#include "ctr/seccomp.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdio.h>
#include <stdbool.h>
#include <string.h>

const char *const seccomp_action_names[] = {
	"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
	"SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", NULL
};
const char *const seccomp_op_names[] = {
	"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
	"SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL
};
const char *const seccomp_arch_names[] = {
	"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
	"SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
	"SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
	"SCMP_ARCH_RISCV64", NULL
};

static int action(const char *name, const cJSON *errno_ret, uint32_t def_errno, uint32_t *out,
		  const char *where, struct err *e)
{
	uint32_t ret = def_errno;
	if (errno_ret && cJSON_IsNumber(errno_ret))
		ret = (uint32_t)errno_ret->valuedouble;
	if (!strcmp(name, "SCMP_ACT_ALLOW"))
		*out = SCMP_ACT_ALLOW;
	else if (!strcmp(name, "SCMP_ACT_ERRNO"))
		*out = SCMP_ACT_ERRNO(ret);
	else if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
		*out = SCMP_ACT_KILL_THREAD;
	else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS"))
		*out = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(name, "SCMP_ACT_TRAP"))
		*out = SCMP_ACT_TRAP;
	else if (!strcmp(name, "SCMP_ACT_TRACE"))
		*out = SCMP_ACT_TRACE(ret);
	else if (!strcmp(name, "SCMP_ACT_LOG"))
		*out = SCMP_ACT_LOG;
	else if (!strcmp(name, "SCMP_ACT_NOTIFY"))
		return err_set(e, -ENOTSUP, "config.json: %s: SCMP_ACT_NOTIFY (seccomp listener) is not supported",
			       where);
	else
		return err_set(e, -EINVAL, "config.json: %s: unknown seccomp action \"%s\"", where, name);
	return 0;
}

static int op(const char *name, enum scmp_compare *out)
{
	static const struct { const char *n; enum scmp_compare c; } t[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE }, { "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (!strcmp(name, t[i].n)) {
			*out = t[i].c;
			return 0;
		}
	return -1;
}

/* The compiled filter: libseccomp's BPF program and the seccomp(2) flags
 * its attributes stand for.  Generating BPF is the slow part (tens of ms for
 * an engine's default profile), so it is done once, in the runtime, and the
 * container process only hands the program to the kernel. */
struct seccomp_filter {
	struct sock_filter *insns;
	unsigned short len;
	unsigned flags;   /* SECCOMP_FILTER_FLAG_* */
};

/* The kernel loads at most BPF_MAXINSNS (4096) instructions per filter and
 * answers more with EINVAL, which libseccomp's own loader reports as
 * ECANCELED ("Operation canceled"); here the size is known and named. */
static int compile(scmp_filter_ctx ctx, unsigned flags, struct seccomp_filter **out,
		   struct err *e)
{
	int fd = memfd_create("nimbus-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return err_set(e, -errno, "linux.seccomp: memfd_create: %s", strerror(errno));
	int rc = seccomp_export_bpf(ctx, fd);
	off_t bytes = lseek(fd, 0, SEEK_END);
	if (rc) {
		close(fd);
		return err_set(e, rc, "linux.seccomp: libseccomp could not compile the filter: %s",
			       strerror(-rc));
	}
	long insns = (long)bytes / (long)sizeof(struct sock_filter);
	if (insns > BPF_MAXINSNS) {
		close(fd);
		return err_set(e, -E2BIG,
			       "linux.seccomp: the filter compiles to %ld BPF instructions, above the kernel's limit of %d: too many syscall rules",
			       insns, BPF_MAXINSNS);
	}
	struct seccomp_filter *f = calloc(1, sizeof *f);
	if (f)
		f->insns = malloc((size_t)bytes ? (size_t)bytes : 1);
	if (!f || !f->insns || pread(fd, f->insns, (size_t)bytes, 0) != bytes) {
		close(fd);
		seccomp_free_ctx(f);
		return err_set(e, -ENOMEM, "linux.seccomp: reading the compiled filter failed");
	}
	close(fd);
	f->len = (unsigned short)insns;
	f->flags = flags;
	*out = f;
	return 0;
}

int seccomp_build(const cJSON *s, void **out, struct err *e)
{
	*out = NULL;
	if (!s)
		return 0;
	int rc;
	const cJSON *da = cJSON_GetObjectItemCaseSensitive(s, "defaultAction");
	if (!cJSON_IsString(da))
		return err_set(e, -EINVAL, "config.json: linux.seccomp.defaultAction: required string missing");
	uint32_t def_errno = EPERM;
	const cJSON *der = cJSON_GetObjectItemCaseSensitive(s, "defaultErrnoRet");
	if (der && !cJSON_IsNumber(der) && !cJSON_IsNull(der))
		return err_set(e, -EINVAL, "config.json: linux.seccomp.defaultErrnoRet: expected a number");
	uint32_t defact;
	if ((rc = action(da->valuestring, der, EPERM, &defact, "linux.seccomp.defaultAction", e)))
		return rc;
	scmp_filter_ctx ctx = seccomp_init(defact);
	if (!ctx)
		return err_set(e, -ENOMEM, "seccomp_init failed");
	/* Let unknown-arch syscalls fail rather than kill: matches engines. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	const cJSON *archs = cJSON_GetObjectItemCaseSensitive(s, "architectures"), *it;
	if (archs && !cJSON_IsArray(archs)) {
		rc = err_set(e, -EINVAL, "config.json: linux.seccomp.architectures: expected an array");
		goto out;
	}
	cJSON_ArrayForEach(it, archs) {
		if (!cJSON_IsString(it) || strncmp(it->valuestring, "SCMP_ARCH_", 10)) {
			rc = err_set(e, -EINVAL, "config.json: linux.seccomp.architectures: \"%s\" is not SCMP_ARCH_*",
				     cJSON_IsString(it) ? it->valuestring : "?");
			goto out;
		}
		char low[32];
		size_t i;
		for (i = 0; it->valuestring[10 + i] && i < sizeof low - 1; i++)
			low[i] = (char)tolower((unsigned char)it->valuestring[10 + i]);
		low[i] = 0;
		uint32_t a = seccomp_arch_resolve_name(low);
		if (!a) {
			rc = err_set(e, -EINVAL, "config.json: linux.seccomp.architectures: unknown \"%s\"",
				     it->valuestring);
			goto out;
		}
		rc = seccomp_arch_add(ctx, a);
		if (rc && rc != -EEXIST) {
			rc = err_set(e, rc, "seccomp: adding architecture %s: %s", it->valuestring,
				     strerror(-rc));
			goto out;
		}
	}
	const cJSON *flags = cJSON_GetObjectItemCaseSensitive(s, "flags");
	unsigned load_flags = 0;
	cJSON_ArrayForEach(it, flags) {
		if (!cJSON_IsString(it))
			continue;
		if (!strcmp(it->valuestring, "SECCOMP_FILTER_FLAG_LOG"))
			load_flags |= SECCOMP_FILTER_FLAG_LOG;
		else if (!strcmp(it->valuestring, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
			load_flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
		else if (!strcmp(it->valuestring, "SECCOMP_FILTER_FLAG_TSYNC"))
			load_flags |= SECCOMP_FILTER_FLAG_TSYNC;
		else {
			rc = err_set(e, -EINVAL, "config.json: linux.seccomp.flags: unknown \"%s\"",
				     it->valuestring);
			goto out;
		}
	}
	const cJSON *sys = cJSON_GetObjectItemCaseSensitive(s, "syscalls");
	if (sys && !cJSON_IsArray(sys)) {
		rc = err_set(e, -EINVAL, "config.json: linux.seccomp.syscalls: expected an array");
		goto out;
	}
	int idx = 0;
	cJSON_ArrayForEach(it, sys) {
		char w[64];
		snprintf(w, sizeof w, "linux.seccomp.syscalls[%d]", idx++);
		const cJSON *names = cJSON_GetObjectItemCaseSensitive(it, "names");
		const cJSON *act = cJSON_GetObjectItemCaseSensitive(it, "action");
		const cJSON *args = cJSON_GetObjectItemCaseSensitive(it, "args");
		if (!cJSON_IsArray(names) || !cJSON_IsString(act)) {
			rc = err_set(e, -EINVAL, "config.json: %s: needs names (array) and action (string)", w);
			goto out;
		}
		uint32_t a;
		if ((rc = action(act->valuestring, cJSON_GetObjectItemCaseSensitive(it, "errnoRet"),
				 def_errno, &a, w, e)))
			goto out;
		if (a == defact)
			continue;
		struct scmp_arg_cmp cmp[6];
		unsigned ncmp = 0;
		bool same_index = false;
		const cJSON *ar;
		cJSON_ArrayForEach(ar, args) {
			const cJSON *ix = cJSON_GetObjectItemCaseSensitive(ar, "index");
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(ar, "value");
			const cJSON *v2 = cJSON_GetObjectItemCaseSensitive(ar, "valueTwo");
			const cJSON *o = cJSON_GetObjectItemCaseSensitive(ar, "op");
			enum scmp_compare c;
			if (!cJSON_IsNumber(ix) || ix->valueint < 0 || ix->valueint > 5 ||
			    !cJSON_IsNumber(v) || !cJSON_IsString(o) || op(o->valuestring, &c) ||
			    ncmp == 6) {
				rc = err_set(e, -EINVAL, "config.json: %s.args: each needs index 0-5, value and a known op",
					     w);
				goto out;
			}
			for (unsigned k = 0; k < ncmp; k++)
				if (cmp[k].arg == (unsigned)ix->valueint)
					same_index = true;
			cmp[ncmp++] = (struct scmp_arg_cmp){ (unsigned)ix->valueint, c,
							     (scmp_datum_t)v->valuedouble,
							     cJSON_IsNumber(v2) ? (scmp_datum_t)v2->valuedouble : 0 };
		}
		const cJSON *nm;
		cJSON_ArrayForEach(nm, names) {
			if (!cJSON_IsString(nm)) {
				rc = err_set(e, -EINVAL, "config.json: %s.names: expected strings", w);
				goto out;
			}
			int nr = seccomp_syscall_resolve_name(nm->valuestring);
			if (nr == __NR_SCMP_ERROR)
				continue;
			if (same_index) {
				/* libseccomp ANDs one comparison per argument; several on
				 * the same argument become separate (ORed) rules. */
				for (unsigned k = 0; k < ncmp && !rc; k++)
					rc = seccomp_rule_add_array(ctx, a, nr, 1, &cmp[k]);
			} else {
				rc = seccomp_rule_add_array(ctx, a, nr, ncmp, cmp);
			}
			if (rc == -EDOM || rc == -EACCES)
				rc = 0;   /* not filterable on this arch / same as default */
			if (rc) {
				rc = err_set(e, rc, "seccomp: rule for %s: %s", nm->valuestring,
					     strerror(-rc));
				goto out;
			}
		}
	}
	rc = compile(ctx, load_flags, (struct seccomp_filter **)out, e);
out:
	seccomp_release(ctx);
	return rc;
}

int seccomp_apply(void *filter, struct err *e)
{
	const struct seccomp_filter *f = filter;
	if (!f)
		return 0;
	struct sock_fprog prog = { .len = f->len, .filter = f->insns };
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->flags, &prog) != 0)
		return err_set(e, -errno, "loading the seccomp filter (%u instructions): %s",
			       (unsigned)f->len, strerror(errno));
	return 0;
}

void seccomp_free_ctx(void *filter)
{
	struct seccomp_filter *f = filter;
	if (f) {
		free(f->insns);
		free(f);
	}
}
