/* Unit tests for cgroup detection and path/unit conversions. */
#include "ctr/cgroup.h"

#include <string.h>
#include <unistd.h>

#include "lib/testing.h"

static const char hybrid[] =
	"24 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
	"30 24 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
	"31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
	"32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
	"33 30 0:29 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
	"34 30 0:30 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
	"35 30 0:31 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

TEST(cgroup_detect_hybrid)
{
	struct cgroup cg = { 0 };
	struct err e = { 0 };
	EXPECT_EQ(cg_detect_from(&cg, hybrid, &e), 0);
	EXPECT_EQ(cg.mode, CG_HYBRID);
	EXPECT_EQ(cg.nh, 4);
	EXPECT(!strcmp(cg.unified, "/sys/fs/cgroup/unified"));
	EXPECT(!strcmp(cg.h[3].opts, "name=systemd"));
	EXPECT(cg_has_v1(&cg, "memory"));
	EXPECT(!cg_has_v1(&cg, "hugetlb"));
	strcpy(cg.path, "/a/b");
	char d[512];
	cg_v1_dir(&cg, "pids", d, sizeof d);
	EXPECT(!strcmp(d, "/sys/fs/cgroup/pids/a/b"));
}

TEST(cgroup_detect_v1_and_v2)
{
	struct cgroup cg = { 0 };
	struct err e = { 0 };
	EXPECT_EQ(cg_detect_from(&cg, "31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n", &e), 0);
	EXPECT_EQ(cg.mode, CG_V1);
	EXPECT(cg_has_v1(&cg, "cpuacct"));
	EXPECT(!cg_has_v1(&cg, "cpuset"));
	EXPECT_EQ(cg_detect_from(&cg, "35 30 0:31 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", &e), 0);
	EXPECT_EQ(cg.mode, CG_V2);
	EXPECT(cg_detect_from(&cg, "24 1 254:0 / / rw - ext4 /dev/vda rw\n", &e) < 0);
}

TEST(cgroup_paths)
{
	char p[512];
	struct err e = { 0 };
	EXPECT_EQ(cg_resolve_path(NULL, "id1", false, p, sizeof p, &e), 0);
	EXPECT(!strcmp(p, "/nimbus/id1"));
	EXPECT_EQ(cg_resolve_path("rel/x/", "id1", false, p, sizeof p, &e), 0);
	EXPECT(!strcmp(p, "/rel/x"));
	EXPECT_EQ(cg_resolve_path("machine-a.slice:libpod:abc", "id", true, p, sizeof p, &e), 0);
	EXPECT(!strcmp(p, "/machine.slice/machine-a.slice/libpod-abc.scope"));
	EXPECT(cg_resolve_path("/a/../b", "id", false, p, sizeof p, &e) < 0);
	EXPECT(cg_resolve_path("/", "id", false, p, sizeof p, &e) < 0);
}

TEST(cgroup_v2_conversions)
{
	EXPECT_EQ(cg2_shares_to_weight(2), 1);
	EXPECT_EQ(cg2_shares_to_weight(1024), 39);
	EXPECT_EQ(cg2_shares_to_weight(262144), 10000);
	EXPECT_EQ(cg2_blkio_to_io_weight(10), 1);
	EXPECT_EQ(cg2_blkio_to_io_weight(1000), 10000);
}

TEST(cgroup_hugepage_sizes_read_from_the_host)
{
	/* Sizes are checked against /sys/kernel/mm/hugepages, never guessed. */
	EXPECT(!cg_host_has_hugepages("3KB"));
	EXPECT(!cg_host_has_hugepages("2MiB"));
	EXPECT(!cg_host_has_hugepages("MB"));
	EXPECT(!cg_host_has_hugepages("16EB"));
	EXPECT_EQ(cg_host_has_hugepages("2MB"), access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0);
}
