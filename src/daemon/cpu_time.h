/*
 * Measured CPU time of an instance: what its process tree (its supervisor,
 * the VMM or the container's processes, and all they run) has used since
 * it started, from /proc/PID/stat (utime and stime, and cutime and cstime
 * for children already reaped; proc(5)).  Metering (meter.h) keeps it with
 * the instance's run, beside what the instance reserved.
 *
 * It needs neither cgroups nor the VMM: a container's processes and a VM's
 * vCPU threads are all in the tree.  What a process of the tree left
 * behind when it was reaped by one outside it (a daemonized grandchild
 * re-parented to init) is lost; an instance's processes do not do that.
 */
#ifndef NIMBUS_DAEMON_CPU_TIME_H
#define NIMBUS_DAEMON_CPU_TIME_H

#include <sys/types.h>

#include "lib/err.h"

/* One /proc/PID/stat: its parent, and utime + stime + cutime + cstime in
 * clock ticks.  -EINVAL for what is not one (the command may hold spaces
 * and parentheses: fields are counted after its last ')'). */
int proc_stat_parse(const char *text, pid_t *ppid, unsigned long long *ticks);
/* The CPU time of root and every process under it, in milliseconds;
 * -ESRCH when root is gone. */
long long cpu_time_tree_ms(pid_t root);

#endif
