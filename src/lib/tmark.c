/* NIMBUS_TIMING timestamps (tmark.h). */
#include "lib/tmark.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

void tmark(const char *what)
{
	if (!getenv("NIMBUS_TIMING"))
		return;
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	/* One write of a line built on the stack: dprintf costs four more
	 * system calls per mark (and a malloc arena in a new thread), which a
	 * restore timed in milliseconds would count as its own. */
	char line[160];
	int n = snprintf(line, sizeof line, "nimbus-timing %d %lld.%06ld %s\n", (int)getpid(),
			 (long long)t.tv_sec, t.tv_nsec / 1000, what);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {   /* a long label: cut, the line still ends */
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, (size_t)n);
	(void)w;
}
