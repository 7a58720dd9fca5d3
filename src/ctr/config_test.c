/* Unit tests for config.c: good configs parse, bad fields are named. */
#include "ctr/config.h"

#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

#include "lib/testing.h"

static int parse(struct oci_config *c, const char *json, struct err *e)
{
	memset(e, 0, sizeof *e);
	return config_parse(c, json, "/bundle", e);
}

#define MIN "\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"}"

TEST(config_minimal)
{
	struct oci_config c;
	struct err e;
	EXPECT_EQ(parse(&c, "{" MIN "}", &e), 0);
	EXPECT(!strcmp(c.root_abs, "/bundle/rootfs"));
	EXPECT(!c.has_process);
	config_free(&c);
}

TEST(config_process_and_linux)
{
	struct oci_config c;
	struct err e;
	const char *j = "{" MIN ",\"process\":{\"args\":[\"sh\",\"-c\",\"x\"],\"env\":[\"A=1\"],"
			"\"cwd\":\"/w\",\"user\":{\"uid\":5,\"gid\":6,\"additionalGids\":[7]},"
			"\"capabilities\":{\"bounding\":[\"CAP_KILL\"]},"
			"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20}],"
			"\"noNewPrivileges\":true,\"oomScoreAdj\":100},"
			"\"hostname\":\"h\",\"mounts\":[{\"destination\":\"/p\",\"type\":\"proc\",\"source\":\"proc\","
			"\"options\":[\"nosuid\",\"ro\",\"rslave\",\"mode=755\"]}],"
			"\"linux\":{\"namespaces\":[{\"type\":\"uts\"},{\"type\":\"mount\"},{\"type\":\"network\",\"path\":\"/n\"}],"
			"\"resources\":{\"memory\":{\"limit\":1048576,\"swap\":2097152},\"pids\":{\"limit\":50},"
			"\"cpu\":{\"shares\":512,\"quota\":1000,\"period\":100000,\"cpus\":\"0-1\"}},"
			"\"cgroupsPath\":\"/a/b\",\"maskedPaths\":[\"/proc/kcore\"],\"rootfsPropagation\":\"rprivate\"}}";
	EXPECT_EQ(parse(&c, j, &e), 0);
	EXPECT_EQ(c.proc.nargs, 3);
	EXPECT(!strcmp(c.proc.cwd, "/w"));
	EXPECT_EQ(c.proc.uid, 5);
	EXPECT_EQ(c.proc.ngids, 1);
	EXPECT_EQ(c.proc.caps.bounding, 1ULL << 5);
	EXPECT_EQ(c.proc.rlimits[0].resource, RLIMIT_NOFILE);
	EXPECT_EQ(c.proc.rlimits[0].hard, 20);
	EXPECT(c.proc.nnp);
	EXPECT_EQ(c.proc.oom_score_adj, 100);
	EXPECT_EQ(c.nmounts, 1);
	EXPECT_EQ(c.mounts[0].flags, MS_NOSUID | MS_RDONLY);
	EXPECT_EQ(c.mounts[0].propagation, MS_SLAVE | MS_REC);
	EXPECT(!strcmp(c.mounts[0].data, "mode=755"));
	EXPECT(c.ns[NS_UTS].want && !c.ns[NS_UTS].path);
	EXPECT(!strcmp(c.ns[NS_NET].path, "/n"));
	EXPECT(!c.ns[NS_PID].want);
	EXPECT_EQ(c.res.mem_limit.v, 1048576);
	EXPECT_EQ(c.res.pids_limit.v, 50);
	EXPECT_EQ(c.res.cpu_shares.v, 512);
	EXPECT(!strcmp(c.res.cpus, "0-1"));
	EXPECT_EQ(c.rootfs_propagation, MS_PRIVATE | MS_REC);
	config_free(&c);
}

static void expect_bad(const char *json, const char *field)
{
	struct oci_config c;
	struct err e;
	int rc = parse(&c, json, &e);
	config_free(&c);
	if (rc != -22 || !strstr(e.msg, field)) {
		char w[700];
		snprintf(w, sizeof w, "wanted an error naming %s, got %d \"%s\"", field, rc, e.msg);
		test_fail(__FILE__, __LINE__, w);
	}
}

TEST(config_bad_fields_are_named)
{
	expect_bad("{", "not valid JSON");
	expect_bad("{\"root\":{\"path\":\"r\"}}", "ociVersion");
	expect_bad("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "ociVersion");
	expect_bad("{\"ociVersion\":\"1.0.0\"}", "root");
	expect_bad("{" MIN ",\"process\":{\"args\":5}}", "process.args");
	expect_bad("{" MIN ",\"process\":{\"args\":[\"a\",3]}}", "process.args[1]");
	expect_bad("{" MIN ",\"process\":{\"args\":[\"a\"],\"cwd\":\"rel\"}}", "process.cwd");
	expect_bad("{" MIN ",\"process\":{\"args\":[\"a\"],\"env\":[\"NOEQUALS\"]}}", "process.env[0]");
	expect_bad("{" MIN ",\"process\":{\"args\":[\"a\"],\"rlimits\":[{\"type\":\"RLIMIT_X\",\"soft\":1,\"hard\":1}]}}",
		   "process.rlimits[0].type");
	expect_bad("{" MIN ",\"process\":{\"args\":[\"a\"],\"user\":{\"uid\":-1}}}", "process.user.uid");
	expect_bad("{" MIN ",\"mounts\":[{\"type\":\"tmpfs\"}]}", "mounts[0].destination");
	expect_bad("{" MIN ",\"mounts\":[{\"destination\":\"rel\",\"type\":\"tmpfs\"}]}", "mounts[0].destination");
	expect_bad("{" MIN ",\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}}", "linux.namespaces[0].type");
	expect_bad("{" MIN ",\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}}", "linux.namespaces[1].type");
	expect_bad("{" MIN ",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"x\"}}}}", "linux.resources.memory.limit");
	expect_bad("{" MIN ",\"linux\":{\"resources\":{\"cpu\":{\"shares\":1e9}}}}", "linux.resources.cpu.shares");
	expect_bad("{" MIN ",\"linux\":{\"resources\":{\"pids\":{}}}}", "linux.resources.pids.limit");
	expect_bad("{" MIN ",\"linux\":{\"uidMappings\":[{\"containerID\":0,\"hostID\":1,\"size\":1}]}}", "uidMappings");
	expect_bad("{" MIN ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"q\"}]}}", "linux.devices[0].type");
	expect_bad("{" MIN ",\"linux\":{\"rootfsPropagation\":\"sideways\"}}", "linux.rootfsPropagation");
	expect_bad("{" MIN ",\"hooks\":{\"prestart\":[{\"path\":\"rel\"}]}}", "hooks.prestart[0].path");
	expect_bad("{" MIN ",\"hostname\":\"h\"}", "hostname");
}

#define PROC(x) "{" MIN ",\"process\":{\"args\":[\"a\"]," x "}}"

TEST(config_ids_outside_0_to_2147483647_refused)
{
	/* (uid_t)-1 tells setresuid "unchanged": the container would stay root. */
	expect_bad(PROC("\"user\":{\"uid\":4294967295}"), "process.user.uid");
	expect_bad(PROC("\"user\":{\"uid\":2147483648}"), "2147483647");
	expect_bad(PROC("\"user\":{\"uid\":0,\"gid\":4294967295}"), "process.user.gid");
	expect_bad(PROC("\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[5,4294967295]}"),
		   "process.user.additionalGids[1]");
	expect_bad("{" MIN ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":3,\"uid\":4294967295}]}}",
		   "linux.devices[0].uid");
	expect_bad("{" MIN ",\"linux\":{\"devices\":[{\"path\":\"/dev/x\",\"type\":\"c\",\"major\":1,\"minor\":3,\"gid\":4294967295}]}}",
		   "linux.devices[0].gid");
	expect_bad("{" MIN ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":4294967295,\"size\":1}],"
		   "\"gidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":1}]}}", "linux.uidMappings[0]");
	expect_bad("{" MIN ",\"linux\":{\"namespaces\":[{\"type\":\"user\"}],\"uidMappings\":[{\"containerID\":0,\"hostID\":0,\"size\":1}],"
		   "\"gidMappings\":[{\"containerID\":0,\"hostID\":2147483000,\"size\":65536}]}}", "linux.gidMappings[0].size");
	struct oci_config c;
	struct err e;
	EXPECT_EQ(parse(&c, PROC("\"user\":{\"uid\":2147483647,\"gid\":2147483647}"), &e), 0);
	EXPECT_EQ(c.proc.uid, 2147483647);
	config_free(&c);
}

TEST(config_rlimits_must_be_integers_the_kernel_takes)
{
	expect_bad(PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1e30,\"hard\":1e30}]"),
		   "process.rlimits[0].soft");
	expect_bad(PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":20.5}]"),
		   "process.rlimits[0].hard: 20.5 is not an integer");
	expect_bad(PROC("\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":20,\"hard\":10}]"),
		   "soft limit 20 is above its hard limit 10");
	struct oci_config c;
	struct err e;
	/* "unlimited" as engines write it. */
	EXPECT_EQ(parse(&c, PROC("\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"soft\":18446744073709551615,\"hard\":18446744073709551615}]"), &e), 0);
	EXPECT_EQ(c.proc.rlimits[0].soft, UINT64_MAX);
	config_free(&c);
}

TEST(config_unknown_capability_refused)
{
	expect_bad(PROC("\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_NOPE\"]}"),
		   "process.capabilities.bounding[1]: unknown capability \"CAP_NOPE\"");
	expect_bad(PROC("\"capabilities\":{\"ambient\":[\"7\"]}"), "process.capabilities.ambient[0]");
}

TEST(config_oci_version_accepts_every_1_x_y)
{
	static const char *good[] = { "1.0.0", "1.0.2-dev", "1.1.0", "1.2.0-rc.1", "1.0.1+build.5",
				      "1.10.3-alpha-2+exp.sha.5114f85" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char j[256];
		struct oci_config c;
		struct err e;
		snprintf(j, sizeof j, "{\"ociVersion\":\"%s\",\"root\":{\"path\":\"r\"}}", good[i]);
		int rc = parse(&c, j, &e);
		config_free(&c);
		if (rc) {
			test_fail(__FILE__, __LINE__, e.msg);
			return;
		}
	}
	expect_bad("{\"ociVersion\":\"2.0.0\",\"root\":{\"path\":\"r\"}}", "major version 2 is not supported");
	expect_bad("{\"ociVersion\":\"0.6.0\",\"root\":{\"path\":\"r\"}}", "major version 0 is not supported");
	expect_bad("{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"}}", "\"1.0\" is not a version");
	expect_bad("{\"ociVersion\":\"1.0.2-\",\"root\":{\"path\":\"r\"}}", "is not a version");
	expect_bad("{\"ociVersion\":\"1.01.0\",\"root\":{\"path\":\"r\"}}", "is not a version");
	expect_bad("{\"ociVersion\":\"v1.0.0\",\"root\":{\"path\":\"r\"}}", "is not a version");
}

TEST(config_hugepage_size_is_a_size)
{
	expect_bad("{" MIN ",\"linux\":{\"resources\":{\"hugepageLimits\":[{\"pageSize\":\"2MB/../x\",\"limit\":1}]}}}",
		   "linux.resources.hugepageLimits[0].pageSize");
	struct oci_config c;
	struct err e;
	EXPECT_EQ(parse(&c, "{" MIN ",\"linux\":{\"resources\":{\"memory\":{\"kernel\":1048576,\"kernelTCP\":1048576},"
			"\"hugepageLimits\":[{\"pageSize\":\"64KB\",\"limit\":0}]}}}", &e), 0);
	EXPECT(c.res.mem_kernel_tcp.set);
	config_free(&c);
}
