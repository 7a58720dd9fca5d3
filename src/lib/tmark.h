/*
 * Start-up timestamps for measuring, not for logs: with NIMBUS_TIMING set
 * in the environment, tmark("what") prints one line to stderr,
 *
 *     nimbus-timing PID SECONDS.MICROSECONDS what
 *
 * on CLOCK_MONOTONIC, the clock a benchmark reads before it execs us, so a
 * phase can be timed from the exec on.  Without the variable it costs one
 * getenv.  bench/lifecycle uses it for the restore's phases.
 */
#ifndef NIMBUS_LIB_TMARK_H
#define NIMBUS_LIB_TMARK_H

void tmark(const char *what);

#endif
