/* See cpu_time.h. */
#include "daemon/cpu_time.h"
#include "daemon/fsutil.h"

#include <ctype.h>
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int proc_stat_parse(const char *text, pid_t *ppid, unsigned long long *ticks)
{
	const char *p = strrchr(text, ')');
	if (!p)
		return -EINVAL;
	/* After "pid (comm)": 3 state, 4 ppid, ... 14 utime, 15 stime,
	 * 16 cutime, 17 cstime. */
	unsigned long long f[14];
	char state;
	int n = sscanf(p + 1, " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		       &state, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9],
		       &f[10], &f[11], &f[12], &f[13]);
	if (n != 15)
		return -EINVAL;
	*ppid = (pid_t)f[0];
	*ticks = f[10] + f[11] + f[12] + f[13];
	return 0;
}

struct proc_row {
	pid_t pid, ppid;
	unsigned long long ticks;
};

static int by_pid(const void *a, const void *b)
{
	pid_t x = ((const struct proc_row *)a)->pid, y = ((const struct proc_row *)b)->pid;
	return (x > y) - (x < y);
}

long long cpu_time_tree_ms(pid_t root)
{
	DIR *d = opendir("/proc");
	if (!d)
		return -errno;
	struct proc_row *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		char path[300], buf[1024];
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		struct proc_row r = { .pid = (pid_t)atoi(de->d_name) };
		if (read_file(path, buf, sizeof buf) <= 0 || proc_stat_parse(buf, &r.ppid, &r.ticks) < 0)
			continue;   /* gone meanwhile */
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			struct proc_row *nv = realloc(v, cap * sizeof *v);
			if (!nv)
				break;
			v = nv;
		}
		v[n++] = r;
	}
	closedir(d);
	/* Each process's parent by binary search over the rows sorted by pid;
	 * then mark root's descendants, sweeping until nothing changes (trees
	 * are shallow: a few sweeps). */
	qsort(v, n, sizeof *v, by_pid);
	char *in = calloc(n ? n : 1, 1);
	size_t *parent = calloc(n ? n : 1, sizeof *parent);
	bool found = false;
	for (size_t i = 0; in && parent && i < n; i++) {
		struct proc_row key = { .pid = v[i].ppid };
		struct proc_row *pr = bsearch(&key, v, n, sizeof *v, by_pid);
		parent[i] = pr ? (size_t)(pr - v) : i;
		if (v[i].pid == root)
			in[i] = found = true;
	}
	for (bool grew = found && parent; grew;) {
		grew = false;
		for (size_t i = 0; i < n; i++)
			if (!in[i] && in[parent[i]])
				in[i] = grew = true;
	}
	free(parent);
	unsigned long long ticks = 0;
	for (size_t i = 0; in && i < n; i++)
		if (in[i])
			ticks += v[i].ticks;
	free(in);
	free(v);
	if (!found)
		return -ESRCH;
	long hz = sysconf(_SC_CLK_TCK);
	return (long long)(ticks * 1000 / (unsigned long long)(hz > 0 ? hz : 100));
}
