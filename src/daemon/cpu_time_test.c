#include "daemon/cpu_time.h"
#include "lib/testing.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TEST(proc_stat_parse_counts_fields_after_the_command)
{
	pid_t ppid;
	unsigned long long t;
	/* a command with spaces and parentheses, as a process may name itself */
	EXPECT(proc_stat_parse("4242 (a b) (c)) S 17 4242 4242 0 -1 4194560 120 0 0 0 "
			       "30 12 5 3 20 0 1 0 900 1000 200", &ppid, &t) == 0);
	EXPECT(ppid == 17 && t == 30 + 12 + 5 + 3);
	EXPECT(proc_stat_parse("1 (x) S 0 1", &ppid, &t) == -EINVAL);
	EXPECT(proc_stat_parse("no parenthesis", &ppid, &t) == -EINVAL);
}

static void spin_cpu_ms(long ms)
{
	struct timespec a, b;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
	do
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
	while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

TEST(cpu_time_tree_counts_a_child_that_works_and_one_that_was_reaped)
{
	pid_t me = getpid();
	long long before = cpu_time_tree_ms(me);
	EXPECT(before >= 0);
	/* a child that burns 300 ms and waits to be measured */
	int go[2];
	EXPECT(pipe(go) == 0);
	pid_t c = fork();
	if (c == 0) {
		spin_cpu_ms(300);
		char x;
		close(go[1]);
		(void)!read(go[0], &x, 1);
		_exit(0);
	}
	close(go[0]);
	long long during = 0;
	for (int i = 0; i < 200 && during - before < 250; i++) {
		usleep(20000);
		during = cpu_time_tree_ms(me);
	}
	EXPECT(during - before >= 250);
	close(go[1]);
	waitpid(c, NULL, 0);
	/* reaped: its time is in our cutime, so the tree keeps it */
	EXPECT(cpu_time_tree_ms(me) >= during);
	EXPECT(cpu_time_tree_ms(999999999) == -ESRCH);
}
