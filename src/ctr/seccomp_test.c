/* Unit tests for seccomp.c: profiles compile, bad ones are named. */
#include "ctr/seccomp.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/testing.h"

static int build(const char *json, struct err *e)
{
	cJSON *j = cJSON_Parse(json);
	void *ctx = NULL;
	memset(e, 0, sizeof *e);
	int rc = seccomp_build(j, &ctx, e);
	seccomp_free_ctx(ctx);
	cJSON_Delete(j);
	return rc;
}

TEST(seccomp_profiles)
{
	struct err e;
	int rc = build("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\",\"SCMP_ARCH_X86\"],"
			"\"syscalls\":[{\"names\":[\"read\",\"write\",\"not_a_syscall\"],\"action\":\"SCMP_ACT_ALLOW\"},"
			"{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]},"
			"{\"names\":[\"clone\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
			"{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}]}]}", &e);
	EXPECT_EQ(rc, 0);
	EXPECT(build("{\"defaultAction\":\"SCMP_ACT_BOGUS\"}", &e) < 0);
	EXPECT(strstr(e.msg, "defaultAction") != NULL);
	EXPECT(build("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_NOTIFY\"}]}", &e) < 0);
	EXPECT(strstr(e.msg, "syscalls[0]") != NULL);
	EXPECT(build("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_VAX\"]}", &e) < 0);
	EXPECT(build("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":9,\"value\":0,\"op\":\"SCMP_CMP_EQ\"}]}]}", &e) < 0);
}

TEST(seccomp_oversized_filter_is_named)
{
	/* 5000 argument rules compile to far more than the kernel's 4096
	 * instructions; libseccomp alone reports "Operation canceled". */
	size_t cap = 5000 * 160 + 256, l = 0;
	char *j = malloc(cap);
	l += (size_t)snprintf(j + l, cap - l, "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[");
	for (int i = 0; i < 5000; i++)
		l += (size_t)snprintf(j + l, cap - l,
				      "%s{\"names\":[\"personality\"],\"action\":\"SCMP_ACT_ERRNO\",\"args\":[{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_EQ\"}]}",
				      i ? "," : "", i + 1);
	snprintf(j + l, cap - l, "]}");
	struct err e;
	int rc = build(j, &e);
	free(j);
	EXPECT(rc < 0);
	EXPECT(strstr(e.msg, "BPF instructions, above the kernel's limit of 4096") != NULL);
}

TEST(seccomp_compiled_filter_loads_and_acts)
{
	/* The program built in the runtime is what the container gets: load
	 * it in a child and watch mkdirat fail with the configured errno. */
	cJSON *j = cJSON_Parse("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\"],"
			       "\"syscalls\":[{\"names\":[\"mkdir\",\"mkdirat\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":38}]}");
	void *f = NULL;
	struct err e = { 0 };
	int rc = seccomp_build(j, &f, &e);
	cJSON_Delete(j);
	EXPECT_EQ(rc, 0);
	EXPECT(f != NULL);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (seccomp_apply(f, &e))
			_exit(2);
		_exit(mkdir("/nonexistent-dir/x", 0700) < 0 && errno == 38 ? 0 : 3);
	}
	int st;
	waitpid(pid, &st, 0);
	seccomp_free_ctx(f);
	EXPECT(WIFEXITED(st));
	EXPECT_EQ(WEXITSTATUS(st), 0);
}
