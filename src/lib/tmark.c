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
	dprintf(STDERR_FILENO, "nimbus-timing %d %lld.%06ld %s\n", (int)getpid(),
		(long long)t.tv_sec, t.tv_nsec / 1000, what);
}
