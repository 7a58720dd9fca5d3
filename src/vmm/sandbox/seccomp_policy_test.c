/*
 * The seccomp allow-lists, loaded for real in forked children: what a vCPU
 * or control thread needs passes, each escape kills the process with SIGSYS,
 * and docs/sandbox.md names every call the lists name.
 */
#include "vmm/sandbox/sandbox.h"
#include "lib/testing.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

/* The raw call: sanitizers hook _exit to run their leak check, which opens
   files the filter forbids. */
#define EXIT(code) syscall(SYS_exit_group, (code))

enum probe { P_NOTHING, P_OPEN, P_EXEC_MAP, P_FORK, P_RAW_SOCKET, P_UDP_SOCKET, P_KILL_OTHER };

/* Runs `probe` in a child under the kind's filter; returns its wait status. */
static int run_under(enum sandbox_thread_kind kind, enum probe probe)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct sock_fprog *prog;
		struct err e = { 0 };
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    sandbox_policy_build(kind, getpid(), &prog, &e) < 0 ||
		    sandbox_prog_load(prog, false, &e) < 0)
			EXIT(99);
		/* What every thread does: time, memory, futex-free locking. */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			EXIT(98);
		munmap(m, 4096);
		switch (probe) {
		case P_NOTHING:
			break;
		case P_OPEN:
			open("/etc/hostname", O_RDONLY);
			break;
		case P_EXEC_MAP:
			mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			break;
		case P_FORK:
			if (fork() == 0)
				EXIT(0);
			break;
		case P_RAW_SOCKET:
			socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
			break;
		case P_UDP_SOCKET:
			if (socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0) < 0)
				EXIT(97);
			break;
		case P_KILL_OTHER:
			kill(getppid(), 0);
			break;
		}
		EXIT(0);
	}
	int ws = 0;
	waitpid(pid, &ws, 0);
	return ws;
}

static int killed_by_sigsys(int ws)
{
	return WIFSIGNALED(ws) && WTERMSIG(ws) == SIGSYS;
}

static int exited_ok(int ws)
{
	return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

TEST(sandbox_vcpu_filter_allows_time_and_memory)
{
	EXPECT(exited_ok(run_under(SANDBOX_THREAD_VCPU, P_NOTHING)));
}

TEST(sandbox_vcpu_filter_kills_open)
{
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_VCPU, P_OPEN)));
}

TEST(sandbox_vcpu_filter_kills_sockets_even_udp)
{
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_VCPU, P_UDP_SOCKET)));
}

TEST(sandbox_filters_kill_executable_mappings)
{
	/* Anonymous executable memory: never; the JIT maps its memfd (shared). */
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_VCPU, P_EXEC_MAP)));
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_CONTROL, P_EXEC_MAP)));
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_IO, P_EXEC_MAP)));
}

TEST(sandbox_control_filter_kills_even_inet_sockets)
{
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_CONTROL, P_UDP_SOCKET)));
	EXPECT(exited_ok(run_under(SANDBOX_THREAD_CONTROL, P_NOTHING)));
}

TEST(sandbox_io_filter_allows_inet_datagram_sockets)
{
	EXPECT(exited_ok(run_under(SANDBOX_THREAD_IO, P_UDP_SOCKET)));
}

TEST(sandbox_io_filter_kills_raw_sockets_open_fork_and_kill)
{
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_IO, P_RAW_SOCKET)));
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_IO, P_OPEN)));
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_IO, P_FORK)));
	EXPECT(killed_by_sigsys(run_under(SANDBOX_THREAD_IO, P_KILL_OTHER)));
}

/* Every call a list names is explained in docs/sandbox.md (as `name`). */
TEST(sandbox_docs_explain_every_allowed_call)
{
	FILE *f = fopen("docs/sandbox.md", "r");
	if (!f)
		f = fopen("../docs/sandbox.md", "r");
	EXPECT(f != NULL);
	static char doc[65536];
	size_t n = fread(doc, 1, sizeof doc - 1, f);
	fclose(f);
	doc[n] = 0;
	for (int k = 0; k < 3; k++) {
		const char *name;
		for (unsigned i = 0; (name = sandbox_policy_name(k, i)); i++) {
			char want[64];
			snprintf(want, sizeof want, "`%s`", name);
			if (!strstr(doc, want)) {
				char what[128];
				snprintf(what, sizeof what, "docs/sandbox.md does not mention %s", want);
				test_fail(__FILE__, __LINE__, what);
				return;
			}
		}
	}
}
