#include "daemon/proc.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

TEST(proc_run_collects_output_and_status)
{
	char out[64];
	char *argv[] = { "/bin/sh", "-c", "echo hi; exit 3", NULL };
	EXPECT_EQ(proc_run(argv, 5000, out, sizeof out, NULL), 3);
	EXPECT(!strcmp(out, "hi\n"));
}

TEST(proc_run_times_out)
{
	struct err e = { 0 };
	char *argv[] = { "/bin/sleep", "5", NULL };
	EXPECT_EQ(proc_run(argv, 100, NULL, 0, &e), -ETIMEDOUT);
}

TEST(proc_alive_tells_a_live_process_from_an_ended_one)
{
	long long me = proc_start_time(getpid());
	EXPECT(me > 0);
	EXPECT(proc_alive(getpid(), me));
	EXPECT(!proc_alive(getpid(), me + 1));   /* same pid, another start: recycled */
	char *argv[] = { "/bin/sleep", "0.05", NULL };
	struct spawn_opts o = { .keep_fd = -1 };
	pid_t pid;
	EXPECT(proc_spawn(argv, &o, &pid, NULL) == 0);
	long long st = proc_start_time(pid);
	EXPECT(st > 0);
	EXPECT(proc_wait_gone(pid, st, 5000));
	EXPECT(!proc_alive(pid, st));
}

TEST(proc_spawn_reports_a_missing_program)
{
	struct err e = { 0 };
	char *argv[] = { "/nonexistent/prog", NULL };
	struct spawn_opts o = { .keep_fd = -1 };
	pid_t pid;
	EXPECT(proc_spawn(argv, &o, &pid, &e) == -ENOENT);
	EXPECT(strstr(e.msg, "/nonexistent/prog"));
}
