/* See util.h. */
#include "ctr/util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int write_str_at(int dirfd, const char *name, const char *s)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, s, strlen(s));
	int rc = n < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int write_str(const char *path, const char *s)
{
	return write_str_at(AT_FDCWD, path, s);
}

int write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	int rc = write_all(fd, data, len);
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int read_small(const char *path, char *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, n - 1);
	int rc = r < 0 ? -errno : 0;
	close(fd);
	if (r < 0)
		return rc;
	buf[r] = 0;
	while (r > 0 && buf[r - 1] == '\n')
		buf[--r] = 0;
	return 0;
}

int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return -ENAMETOOLONG;
	if (mkdir(buf, mode) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -errno;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

void now_rfc3339(char *buf, size_t n)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char d[32];
	strftime(d, sizeof d, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, n, "%s.%09ldZ", d, ts.tv_nsec);
}

bool id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 1024 || id[0] == '.')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.+-", id[i]))
			return false;
	return true;
}

void id_file_name(const char *id, char *out, size_t n)
{
	size_t len = strlen(id);
	if (len <= NAME_MAX) {
		snprintf(out, n, "%s", id);
		return;
	}
	uint64_t h = 0xcbf29ce484222325ULL;   /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)id[i]) * 0x100000001b3ULL;
	snprintf(out, n, "%.200s-%016llx", id, (unsigned long long)h);
}

int proc_stat(pid_t pid, unsigned long long *start, char *state)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int rc = read_small(path, buf, sizeof buf);
	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	/* comm may hold spaces and parens: fields resume after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return -EIO;
	p += 2;
	if (state)
		*state = *p;
	/* p is at field 3 (state); start time is field 22. */
	for (int f = 3; f < 22; f++) {
		p = strchr(p, ' ');
		if (!p)
			return -EIO;
		p++;
	}
	if (start)
		*start = strtoull(p, NULL, 10);
	return 0;
}

static const struct { const char *n; int s; } sigtab[] = {
	{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT }, { "IOT", SIGIOT }, { "BUS", SIGBUS },
	{ "FPE", SIGFPE }, { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE }, { "ALRM", SIGALRM }, { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CONT", SIGCONT }, { "STOP", SIGSTOP },
	{ "TSTP", SIGTSTP }, { "TTIN", SIGTTIN }, { "TTOU", SIGTTOU }, { "URG", SIGURG },
	{ "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }, { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
	{ "WINCH", SIGWINCH }, { "IO", SIGIO }, { "POLL", SIGPOLL }, { "PWR", SIGPWR },
	{ "SYS", SIGSYS },
};

int signal_parse(const char *s)
{
	if (!s || !*s)
		return -1;
	if (isdigit((unsigned char)s[0])) {
		char *end;
		long v = strtol(s, &end, 10);
		if (*end || v < 1 || v > SIGRTMAX)
			return -1;
		return (int)v;
	}
	char up[32];
	size_t i;
	for (i = 0; s[i] && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)s[i]);
	up[i] = 0;
	const char *n = strncmp(up, "SIG", 3) ? up : up + 3;
	for (size_t k = 0; k < sizeof sigtab / sizeof sigtab[0]; k++)
		if (!strcmp(n, sigtab[k].n))
			return sigtab[k].s;
	if (!strncmp(n, "RTMIN", 5)) {
		int off = n[5] == '+' ? atoi(n + 6) : 0;
		if (SIGRTMIN + off <= SIGRTMAX)
			return SIGRTMIN + off;
	}
	if (!strncmp(n, "RTMAX", 5)) {
		int off = n[5] == '-' ? atoi(n + 6) : 0;
		if (SIGRTMAX - off >= SIGRTMIN)
			return SIGRTMAX - off;
	}
	return -1;
}

int path_cat(char *out, size_t n, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la + lb + 1 > n) {
		if (n)
			out[0] = 0;
		return -ENAMETOOLONG;
	}
	memmove(out, a, la);
	memcpy(out + la, b, lb + 1);
	return 0;
}

int ctr_err_wrap(struct err *e, const char *fmt, ...)
{
	char prefix[sizeof e->msg], old[sizeof e->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof old);
	return err_set(e, e->code, "%s: %s", prefix, old);
}

bool running_rootless(void)
{
	if (geteuid() != 0)
		return true;
	char map[128];
	if (read_small("/proc/self/uid_map", map, sizeof map))
		return false;
	unsigned long a, b, c;
	return sscanf(map, "%lu %lu %lu", &a, &b, &c) != 3 || a != 0 || b != 0 || c != 4294967295UL;
}

const char *default_state_root(char *buf, size_t n)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR"), *user = getenv("USER");
	if (xdg && *xdg && running_rootless() && (geteuid() != 0 || !user || strcmp(user, "root")) &&
	    (size_t)snprintf(buf, n, "%s/nimbus-runtime", xdg) < n)
		return buf;
	return "/run/nimbus-runtime";
}
