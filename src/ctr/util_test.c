/* Unit tests for util.c and log.c. */
#include "ctr/util.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "ctr/log.h"
#include "lib/testing.h"

TEST(util_signal_parse)
{
	EXPECT_EQ(signal_parse("9"), SIGKILL);
	EXPECT_EQ(signal_parse("KILL"), SIGKILL);
	EXPECT_EQ(signal_parse("SIGTERM"), SIGTERM);
	EXPECT_EQ(signal_parse("sigusr1"), SIGUSR1);
	EXPECT_EQ(signal_parse("RTMIN+2"), SIGRTMIN + 2);
	EXPECT_EQ(signal_parse("NOPE"), -1);
	EXPECT_EQ(signal_parse("0"), -1);
	EXPECT_EQ(signal_parse(""), -1);
}

TEST(util_id_valid)
{
	EXPECT(id_valid("abc-1.2_3+x"));
	EXPECT(!id_valid(""));
	EXPECT(!id_valid(".hidden"));
	EXPECT(!id_valid("a/b"));
	EXPECT(!id_valid("a b"));
}

TEST(util_proc_stat_self)
{
	unsigned long long st = 0;
	char s = 0;
	EXPECT_EQ(proc_stat(getpid(), &st, &s), 0);
	EXPECT(st > 0);
	EXPECT(s == 'R');
	EXPECT_EQ(proc_stat(0x3fffffff, &st, &s), -3 /* -ESRCH */);
}

TEST(log_json_line)
{
	char buf[512];
	log_format(buf, sizeof buf, true, LOG_ERROR, "bad \"x\"");
	EXPECT(!strncmp(buf, "{\"level\":\"error\",\"msg\":\"bad \\\"x\\\"\",\"time\":\"", 43));
	EXPECT(buf[strlen(buf) - 1] == '\n');
	log_format(buf, sizeof buf, false, LOG_WARN, "w");
	EXPECT(!strcmp(buf, "nimbus-runtime: warning: w\n"));
}

TEST(util_path_cat)
{
	char b[8];
	EXPECT_EQ(path_cat(b, sizeof b, "ab", "cd"), 0);
	EXPECT(!strcmp(b, "abcd"));
	EXPECT(path_cat(b, sizeof b, "abcd", "efgh") < 0);
}

TEST(util_err_wrap_keeps_the_message_once)
{
	/* err_set(e, ..., e->msg) overlapped source and destination: the
	 * prefix came out repeated and the path lost. */
	struct err e = { 0 };
	err_set(&e, -ENOTDIR, "/etc/passwd/sub: Not a directory");
	EXPECT_EQ(ctr_err_wrap(&e, "mounts[%d]: destination", 8), -ENOTDIR);
	EXPECT(!strcmp(e.msg, "mounts[8]: destination: /etc/passwd/sub: Not a directory"));
}

TEST(util_id_file_name_fits_a_directory)
{
	char id[1025], name[256], other[256];
	memset(id, 'a', 1024);
	id[1024] = 0;
	id_file_name("short-id", name, sizeof name);
	EXPECT(!strcmp(name, "short-id"));
	id_file_name(id, name, sizeof name);
	EXPECT(strlen(name) <= 255);
	EXPECT(!strncmp(name, id, 200));
	id[1023] = 'b';   /* same 200-character prefix, another id */
	id_file_name(id, other, sizeof other);
	EXPECT(strcmp(name, other) != 0);
	EXPECT(id_valid(id));
	char longer[1030];
	memset(longer, 'a', 1025);
	longer[1025] = 0;
	EXPECT(!id_valid(longer));
}
