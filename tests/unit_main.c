/* The main() of every unit-test program: runs the registered cases in order. */
#include "lib/testing.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CASES 1024

static struct test_case cases[MAX_CASES];
static int ncases;
static int current_failed;

void test_register(const char *name, void (*fn)(void))
{
	if (ncases == MAX_CASES) {
		fprintf(stderr, "too many test cases\n");
		exit(2);
	}
	cases[ncases++] = (struct test_case){ name, fn };
}

void test_fail(const char *file, int line, const char *what)
{
	current_failed = 1;
	printf("   %s:%d: %s\n", file, line, what);
}

int test_failed_now(void) { return current_failed; }

int main(int argc, char **argv)
{
	int failed = 0, passed = 0;
	const char *only = argc > 1 ? argv[1] : NULL;
	/* A peer that closed a socket is a failed check (EPIPE), not a dead
	 * test program: the server under test may close on purpose. */
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < ncases; i++) {
		if (only && !strstr(cases[i].name, only))
			continue;
		current_failed = 0;
		printf("-- %s\n", cases[i].name);
		fflush(stdout);
		cases[i].fn();
		if (current_failed) {
			printf("FAIL %s\n", cases[i].name);
			failed++;
		} else {
			printf("ok %s\n", cases[i].name);
			passed++;
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
