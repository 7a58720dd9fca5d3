/*
 * The per-VM cgroup on fake v1, v2 and hybrid hosts: a temporary directory
 * stands in for each hierarchy (knob files made in advance, since a plain
 * directory does not grow them), mountinfo and /proc/self/cgroup texts
 * point there.  Checks where the group goes and what each knob receives.
 */
#include "vmm/vm_cgroup.h"
#include "lib/testing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void mk(const char *rel)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	mkdir(p, 0755);
}

static void touch(const char *rel)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	close(open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644));
}

static const char *get(const char *rel)
{
	static char buf[256];
	char p[256];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	buf[0] = 0;
	cg_read_small(p, buf, sizeof buf);
	return buf;
}

static void fresh_root(void)
{
	snprintf(root, sizeof root, "/tmp/nimbus-vmcg-XXXXXX");
	if (!mkdtemp(root))
		abort();
}

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", root);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", root);
}

TEST(vm_cgroup_parse_cpu_max_forms)
{
	struct vm_cgroup_limits l = { 0 };
	struct err e = { 0 };
	EXPECT(vm_cgroup_parse_cpu_max("0.5", &l, &e) == 0);
	EXPECT_EQ(l.cpu_quota_us, 50000);
	EXPECT_EQ(l.cpu_period_us, 100000);
	EXPECT(vm_cgroup_parse_cpu_max("2", &l, &e) == 0);
	EXPECT_EQ(l.cpu_quota_us, 200000);
	EXPECT(vm_cgroup_parse_cpu_max("25000/50000", &l, &e) == 0);
	EXPECT_EQ(l.cpu_quota_us, 25000);
	EXPECT_EQ(l.cpu_period_us, 50000);
	EXPECT(vm_cgroup_parse_cpu_max("max", &l, &e) == 0);
	EXPECT_EQ(l.cpu_quota_us, 0);
	EXPECT(vm_cgroup_parse_cpu_max("half", &l, &e) == -EINVAL);
	EXPECT(strstr(e.msg, "--cpu-max half") != NULL);
	EXPECT(vm_cgroup_parse_cpu_max("1000/10", &l, &e) == -EINVAL);
	EXPECT(vm_cgroup_parse_cpu_max("-1", &l, &e) == -EINVAL);
	EXPECT(vm_cgroup_parse_cpu_max("0", &l, &e) == -EINVAL);
}

TEST(vm_cgroup_pure_v2_writes_v2_knobs_beside_a_busy_caller_group)
{
	fresh_root();
	/* The caller sits in /user.slice/s.scope, which holds processes: its
	   subtree_control refuses (a directory here: writing it fails). */
	mk("user.slice");
	mk("user.slice/s.scope");
	touch("user.slice/s.scope/cgroup.subtree_control");
	FILE *pf = fopen(strcat(strcpy((char[128]){ 0 }, root), "/user.slice/s.scope/cgroup.procs"), "w");
	fputs("4242\n", pf);
	fclose(pf);
	touch("user.slice/cgroup.subtree_control");
	touch("cgroup.controllers");
	mk("user.slice/nimbus-vm-1");
	const char *knobs[] = { "cpu.weight", "cpu.max", "memory.max", "io.weight", "cgroup.procs" };
	for (unsigned i = 0; i < 5; i++) {
		char p[64];
		snprintf(p, sizeof p, "user.slice/nimbus-vm-1/%s", knobs[i]);
		touch(p);
	}
	char mi[512], cg[64];
	snprintf(mi, sizeof mi, "30 1 0:26 / %s rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", root);
	snprintf(cg, sizeof cg, "0::/user.slice/s.scope\n");
	char ctl[256];
	snprintf(ctl, sizeof ctl, "%s/cgroup.controllers", root);
	FILE *f = fopen(ctl, "w");
	fputs("cpuset cpu io memory pids\n", f);
	fclose(f);

	struct vm_cgroup_limits l = { .cpu_weight = 250, .cpu_quota_us = 50000,
				      .cpu_period_us = 100000, .mem_max = 300 << 20,
				      .io_weight = 400 };
	struct vm_cgroup vc;
	struct err e = { 0 };
	int rc = vm_cgroup_create_from(&vc, &l, "nimbus-vm-1", mi, cg, &e);
	if (rc)
		fprintf(stderr, "%s\n", e.msg);
	EXPECT(rc == 0);
	if (vc.ndirs != 1)
		fprintf(stderr, "warn=%s v2ctrl=%s unified=%s\n", vc.host.warn, vc.host.v2ctrl, vc.host.unified);
	EXPECT_EQ(vc.ndirs, 1);
	EXPECT(strstr(vc.dir[0], "/user.slice/nimbus-vm-1") != NULL);
	EXPECT(strstr(vc.back[0], "/user.slice/s.scope") != NULL);
	EXPECT(!strcmp(get("user.slice/nimbus-vm-1/cpu.weight"), "250"));
	EXPECT(!strcmp(get("user.slice/nimbus-vm-1/cpu.max"), "50000 100000"));
	EXPECT(!strcmp(get("user.slice/nimbus-vm-1/memory.max"), "314572800"));
	EXPECT(!strcmp(get("user.slice/nimbus-vm-1/io.weight"), "default 400"));
	/* A plain file keeps the bytes of each write: the last one was +io. */
	EXPECT(!strncmp(get("user.slice/cgroup.subtree_control"), "+io", 3));
	EXPECT(vc.host.warn[0] == 0);
	cleanup();
}

TEST(vm_cgroup_hybrid_host_uses_v1_controllers_nested_under_the_caller)
{
	fresh_root();
	mk("cpu");
	mk("memory");
	mk("blkio");
	mk("unified");
	mk("memory/job");
	mk("cpu/nimbus-vm-2");
	mk("memory/job/nimbus-vm-2");
	mk("blkio/nimbus-vm-2");
	touch("cpu/nimbus-vm-2/cpu.shares");
	touch("cpu/nimbus-vm-2/cpu.cfs_period_us");
	touch("cpu/nimbus-vm-2/cpu.cfs_quota_us");
	touch("memory/job/nimbus-vm-2/memory.limit_in_bytes");
	touch("blkio/nimbus-vm-2/blkio.bfq.weight");   /* BFQ: no plain blkio.weight */
	char mi[1024];
	snprintf(mi, sizeof mi,
		 "30 1 0:26 / %s/unified rw - cgroup2 cgroup2 rw\n"
		 "31 1 0:27 / %s/cpu rw - cgroup cgroup rw,cpu\n"
		 "32 1 0:28 / %s/memory rw - cgroup cgroup rw,memory\n"
		 "33 1 0:29 / %s/blkio rw - cgroup cgroup rw,blkio\n", root, root, root, root);
	const char *pc = "4:memory:/job\n3:blkio:/\n1:cpu:/\n0::/\n";
	struct vm_cgroup_limits l = { .cpu_weight = 50, .cpu_quota_us = 150000,
				      .cpu_period_us = 100000, .mem_max = 1 << 30, .io_weight = 5000 };
	struct vm_cgroup vc;
	struct err e = { 0 };
	int rc = vm_cgroup_create_from(&vc, &l, "nimbus-vm-2", mi, pc, &e);
	if (rc)
		fprintf(stderr, "%s\n", e.msg);
	EXPECT(rc == 0);
	EXPECT_EQ(vc.host.mode, CG_HYBRID);
	EXPECT_EQ(vc.ndirs, 3);
	EXPECT(!strcmp(get("cpu/nimbus-vm-2/cpu.shares"), "512"));
	EXPECT(!strcmp(get("cpu/nimbus-vm-2/cpu.cfs_period_us"), "100000"));
	EXPECT(!strcmp(get("cpu/nimbus-vm-2/cpu.cfs_quota_us"), "150000"));
	EXPECT(!strcmp(get("memory/job/nimbus-vm-2/memory.limit_in_bytes"), "1073741824"));
	EXPECT(!strcmp(get("blkio/nimbus-vm-2/blkio.bfq.weight"), "500"));
	vm_cgroup_destroy(&vc, false);
	cleanup();
}

TEST(vm_cgroup_missing_controller_is_a_warning_not_an_error)
{
	fresh_root();
	mk("cpu");
	mk("cpu/nimbus-vm-3");
	touch("cpu/nimbus-vm-3/cpu.shares");
	char mi[512];
	snprintf(mi, sizeof mi, "31 1 0:27 / %s/cpu rw - cgroup cgroup rw,cpu\n", root);
	struct vm_cgroup_limits l = { .cpu_weight = 100, .io_weight = 100 };
	struct vm_cgroup vc;
	struct err e = { 0 };
	EXPECT(vm_cgroup_create_from(&vc, &l, "nimbus-vm-3", mi, "1:cpu:/\n", &e) == 0);
	EXPECT(strstr(vc.host.warn, "--io-weight ignored") != NULL);
	EXPECT(!strcmp(get("cpu/nimbus-vm-3/cpu.shares"), "1024"));
	cleanup();
}

TEST(vm_cgroup_refused_value_fails_and_removes_the_group)
{
	fresh_root();
	mk("memory");
	/* No knob file at all: the v1 memory limit cannot be written. */
	char mi[512];
	snprintf(mi, sizeof mi, "32 1 0:28 / %s/memory rw - cgroup cgroup rw,memory\n", root);
	struct vm_cgroup_limits l = { .mem_max = 64 << 20 };
	struct vm_cgroup vc;
	struct err e = { 0 };
	EXPECT(vm_cgroup_create_from(&vc, &l, "nimbus-vm-4", mi, "4:memory:/\n", &e) < 0);
	EXPECT(strstr(e.msg, "memory.limit_in_bytes") != NULL);
	char p[256];
	snprintf(p, sizeof p, "%s/memory/nimbus-vm-4", root);
	EXPECT(access(p, F_OK) != 0);
	cleanup();
}
