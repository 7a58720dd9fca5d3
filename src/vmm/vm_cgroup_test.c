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
#include <sys/wait.h>
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

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	FILE *f = fopen(p, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static bool exists(const char *rel)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	return access(p, F_OK) == 0;
}

/* This host's layout: v1 cpu, cpuacct, blkio and memory, each its own
 * hierarchy, and a cgroup2 mount at unified holding none of them; the
 * caller's memory group is a job's (/job). */
static const char *hybrid_mountinfo(char *mi, size_t n)
{
	snprintf(mi, n,
		 "30 1 0:26 / %s/unified rw - cgroup2 cgroup2 rw,nsdelegate\n"
		 "31 1 0:27 / %s/cpu rw - cgroup cgroup rw,cpu\n"
		 "32 1 0:28 / %s/cpuacct rw - cgroup cgroup rw,cpuacct\n"
		 "33 1 0:29 / %s/memory rw - cgroup cgroup rw,memory\n"
		 "34 1 0:30 / %s/blkio rw - cgroup cgroup rw,blkio\n", root, root, root, root, root);
	mk("cpu");
	mk("cpuacct");
	mk("memory");
	mk("memory/job");
	mk("blkio");
	mk("unified");
	put("unified/cgroup.controllers", "hugetlb\n");
	return mi;
}

static const char *hybrid_proc_cgroup = "4:memory:/job\n34:blkio:/\n2:cpuacct:/\n1:cpu:/\n0::/\n";

/* A PID that no process has: a child's, reaped. */
static pid_t dead_pid(void)
{
	pid_t p = fork();
	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return p;
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
	/* BFQ's scale (1..1000, default 100): 5000 is 100 + 4900 * 900 / 9900. */
	EXPECT(!strcmp(get("blkio/nimbus-vm-2/blkio.bfq.weight"), "545"));
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

TEST(vm_cgroup_parse_parent_wants_an_absolute_path_below_the_root)
{
	struct err e = { 0 };
	EXPECT(vm_cgroup_parse_parent("/nimbus-vms", &e) == 0);
	EXPECT(vm_cgroup_parse_parent("/tenants/vms", &e) == 0);
	EXPECT(vm_cgroup_parse_parent("vms", &e) == -EINVAL);
	EXPECT(strstr(e.msg, "--cgroup-parent vms: must be an absolute path") != NULL);
	EXPECT(vm_cgroup_parse_parent("/", &e) == -EINVAL);
	EXPECT(strstr(e.msg, "the root") != NULL);
	EXPECT(vm_cgroup_parse_parent("//", &e) == -EINVAL);
	EXPECT(vm_cgroup_parse_parent("/a/../b", &e) == -EINVAL);
	EXPECT(vm_cgroup_parse_parent("/a/.", &e) == -EINVAL);
	EXPECT(vm_cgroup_parse_parent("/..", &e) == -EINVAL);
}

TEST(vm_cgroup_hybrid_host_puts_cpu_and_blkio_below_the_parent_and_memory_below_the_caller)
{
	fresh_root();
	char mi[1024];
	hybrid_mountinfo(mi, sizeof mi);
	/* The group's knobs (a plain directory does not grow them). */
	mk("cpu/nimbus-vms");
	mk("cpu/nimbus-vms/nimbus-vm-5");
	touch("cpu/nimbus-vms/cpu.shares");
	touch("cpu/nimbus-vms/nimbus-vm-5/cpu.shares");
	mk("blkio/nimbus-vms");
	mk("blkio/nimbus-vms/nimbus-vm-5");
	touch("blkio/nimbus-vms/blkio.weight");
	touch("blkio/nimbus-vms/nimbus-vm-5/blkio.weight");
	mk("memory/job/nimbus-vm-5");
	touch("memory/job/nimbus-vm-5/memory.limit_in_bytes");
	struct vm_cgroup_limits l = { .cpu_weight = 100, .io_weight = 100, .mem_max = 192 << 20,
				      .parent = "/nimbus-vms", .parent_weight = 1000,
				      .parent_weight_given = true };
	struct vm_cgroup vc;
	struct err e = { 0 };
	int rc = vm_cgroup_create_from(&vc, &l, "nimbus-vm-5", mi, hybrid_proc_cgroup, &e);
	if (rc)
		fprintf(stderr, "%s\n", e.msg);
	EXPECT(rc == 0);
	EXPECT_EQ(vc.ndirs, 3);
	for (unsigned i = 0; i < vc.ndirs; i++)   /* back where the launcher was */
		EXPECT(strstr(vc.back[i], "nimbus-vms") == NULL);
	/* The parent weighs ten tasks: v1 cpu.shares 10240, blkio.weight 1000 (max). */
	EXPECT(!strcmp(get("cpu/nimbus-vms/cpu.shares"), "10240"));
	EXPECT(!strcmp(get("blkio/nimbus-vms/blkio.weight"), "1000"));
	EXPECT(!strcmp(get("cpu/nimbus-vms/nimbus-vm-5/cpu.shares"), "1024"));
	/* --io-weight 100 is v1's default blkio.weight, 500 (systemd's mapping). */
	EXPECT(!strcmp(get("blkio/nimbus-vms/nimbus-vm-5/blkio.weight"), "500"));
	EXPECT(!strcmp(get("memory/job/nimbus-vm-5/memory.limit_in_bytes"), "201326592"));
	EXPECT(!exists("memory/nimbus-vms"));
	EXPECT(!exists("cpuacct/nimbus-vms"));
	EXPECT(!exists("unified/nimbus-vms"));
	vm_cgroup_destroy(&vc, false);
	EXPECT(!exists("cpu/nimbus-vms/nimbus-vm-5/x"));
	cleanup();
}

TEST(vm_cgroup_parent_is_made_on_first_use_and_an_existing_one_keeps_its_weight)
{
	fresh_root();
	char mi[1024];
	hybrid_mountinfo(mi, sizeof mi);
	struct vm_cgroup_limits l = { .parent = "/tenants/vms" };
	struct err e = { 0 };
	EXPECT(vm_cgroup_make_parent_from(&l, mi, &e) == 0);
	EXPECT(exists("cpu/tenants/vms"));
	EXPECT(exists("blkio/tenants/vms"));
	EXPECT(!exists("memory/tenants"));
	/* An administrator set the weight: a default start leaves it... */
	put("cpu/tenants/vms/cpu.shares", "2048\n");
	EXPECT(vm_cgroup_make_parent_from(&l, mi, &e) == 0);
	EXPECT(!strcmp(get("cpu/tenants/vms/cpu.shares"), "2048"));
	/* ...an explicit --cgroup-parent-weight writes it. */
	l.parent_weight = 300;
	l.parent_weight_given = true;
	EXPECT(vm_cgroup_make_parent_from(&l, mi, &e) == 0);
	EXPECT(!strcmp(get("cpu/tenants/vms/cpu.shares"), "3072"));
	cleanup();
}

TEST(vm_cgroup_v2_parent_enables_controllers_and_holds_the_group_beside_a_busy_caller)
{
	fresh_root();
	mk("user.slice");
	mk("user.slice/s.scope");
	put("user.slice/s.scope/cgroup.procs", "4242\n");
	put("cgroup.controllers", "cpuset cpu io memory pids\n");
	touch("cgroup.subtree_control");
	mk("nimbus-vms");
	touch("nimbus-vms/cgroup.subtree_control");
	touch("nimbus-vms/cpu.weight");
	mk("nimbus-vms/nimbus-vm-6");
	touch("nimbus-vms/nimbus-vm-6/cpu.weight");
	touch("nimbus-vms/nimbus-vm-6/memory.max");
	char mi[512];
	snprintf(mi, sizeof mi, "30 1 0:26 / %s rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n", root);
	struct vm_cgroup_limits l = { .cpu_weight = 200, .mem_max = 128 << 20,
				      .parent = "/nimbus-vms", .parent_weight = 1000,
				      .parent_weight_given = true };
	struct vm_cgroup vc;
	struct err e = { 0 };
	int rc = vm_cgroup_create_from(&vc, &l, "nimbus-vm-6", mi, "0::/user.slice/s.scope\n", &e);
	if (rc)
		fprintf(stderr, "%s\n", e.msg);
	EXPECT(rc == 0);
	EXPECT_EQ(vc.ndirs, 1);
	EXPECT(strstr(vc.dir[0], "/nimbus-vms/nimbus-vm-6") != NULL);
	/* Back to where the caller was, not to the parent. */
	EXPECT(strstr(vc.back[0], "/user.slice/s.scope") != NULL);
	EXPECT(!strcmp(get("cgroup.subtree_control"), "+cpu +io +memory"));
	EXPECT(!strcmp(get("nimbus-vms/cpu.weight"), "1000"));
	EXPECT(!strcmp(get("nimbus-vms/nimbus-vm-6/cpu.weight"), "200"));
	EXPECT(!strcmp(get("nimbus-vms/nimbus-vm-6/memory.max"), "134217728"));
	cleanup();
}

TEST(vm_cgroup_sweep_removes_empty_groups_of_dead_launchers_only)
{
	fresh_root();
	char mi[1024], n[128];
	hybrid_mountinfo(mi, sizeof mi);
	pid_t dead = dead_pid();
	mk("cpu/nimbus-vms");
	mk("blkio/nimbus-vms");
	snprintf(n, sizeof n, "cpu/nimbus-vms/nimbus-vm-%d", (int)dead);
	mk(n);                                      /* stale: removed */
	snprintf(n, sizeof n, "cpu/nimbus-vm-%d", (int)dead);
	mk(n);                                      /* stale, at the caller's level: removed */
	snprintf(n, sizeof n, "memory/job/nimbus-vm-%d", (int)dead);
	mk(n);                                      /* stale, below the caller's memory group */
	snprintf(n, sizeof n, "blkio/nimbus-vms/nimbus-vm-%d", (int)dead);
	mk(n);
	snprintf(n, sizeof n, "blkio/nimbus-vms/nimbus-vm-%d/cgroup.procs", (int)dead);
	touch(n);                                   /* not empty: kept */
	snprintf(n, sizeof n, "cpu/nimbus-vms/nimbus-vm-%d", (int)getpid());
	mk(n);                                      /* its launcher lives: kept */
	mk("cpu/nimbus-vms/nimbus-vm-x1");          /* not ours: kept */
	EXPECT_EQ(vm_cgroup_sweep_from("/nimbus-vms", mi, hybrid_proc_cgroup), 3);
	snprintf(n, sizeof n, "cpu/nimbus-vms/nimbus-vm-%d", (int)dead);
	EXPECT(!exists(n));
	snprintf(n, sizeof n, "cpu/nimbus-vm-%d", (int)dead);
	EXPECT(!exists(n));
	snprintf(n, sizeof n, "memory/job/nimbus-vm-%d", (int)dead);
	EXPECT(!exists(n));
	snprintf(n, sizeof n, "blkio/nimbus-vms/nimbus-vm-%d", (int)dead);
	EXPECT(exists(n));
	snprintf(n, sizeof n, "cpu/nimbus-vms/nimbus-vm-%d", (int)getpid());
	EXPECT(exists(n));
	EXPECT(exists("cpu/nimbus-vms/nimbus-vm-x1"));
	cleanup();
}
