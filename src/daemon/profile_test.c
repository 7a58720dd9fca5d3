#include "daemon/profile.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

#define B(s) s, strlen(s)

TEST(profile_create_reads_every_field_and_refuses_bad_ones)
{
	struct err e = { 0 };
	struct profile p = { 0 };
	EXPECT(profile_parse(B("{\"name\":\"web\",\"description\":\"d\",\"cpus\":2,\"memory\":\"512M\","
			       "\"network\":\"n1\",\"disks\":{\"data\":\"1G\"}}"), true, &p, &e) == 0);
	EXPECT(!strcmp(p.name, "web") && p.cpus == 2 && p.memory_mib == 512);
	EXPECT(!strcmp(p.network, "n1") && p.ndisks == 1 && p.disks[0].size_mib == 1024);
	static const char *const bad[] = {
		"{}", "{\"name\":\"A\"}", "{\"name\":\"x\",\"cpus\":9}", "{\"name\":\"x\",\"cpus\":1.5}",
		"{\"name\":\"x\",\"memory\":512}", "{\"name\":\"x\",\"network\":\"../n\"}",
		"{\"name\":\"x\",\"colour\":\"red\"}", "{\"name\":\"x\",\"description\":\"a\\nb\"}",
		"[1]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct profile q = { 0 };
		EXPECT(profile_parse(bad[i], strlen(bad[i]), true, &q, &e) == -EINVAL);
	}
}

TEST(profile_patch_replaces_unsets_and_merges_disks)
{
	struct err e = { 0 };
	struct profile p = { 0 };
	EXPECT(profile_parse(B("{\"name\":\"w\",\"cpus\":2,\"disks\":{\"a\":\"1G\",\"b\":\"2G\"}}"), true,
			     &p, &e) == 0);
	EXPECT(profile_parse(B("{\"cpus\":null,\"memory\":\"1G\",\"disks\":{\"a\":null,\"c\":\"3G\"}}"),
			     false, &p, &e) == 0);
	EXPECT(p.cpus == 0 && p.memory_mib == 1024 && p.ndisks == 2);
	EXPECT(profile_parse(B("{\"name\":\"z\"}"), false, &p, &e) == -EINVAL);
	EXPECT(profile_parse(B("{}"), false, &p, &e) == -EINVAL);
	struct create_req r = { .cpus = 4 };
	p.cpus = 2;
	profile_apply(&p, &r);
	EXPECT(r.cpus == 4 && r.memory_mib == 1024);
}
