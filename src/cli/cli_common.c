/*
 * What every `nimbus` program shares (the lean VMM front, vmm_main.c, and the
 * full one, main.c): the error line, where the default guest lives, and the
 * warning that --mem-merge will merge nothing.
 */
#include "cli/cli.h"
#include "lib/cgroup_host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("nimbus: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int cli_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void cli_warn_if_ksm_off(const char *what)
{
	char run[8] = "";
	if (cg_read_small("/sys/kernel/mm/ksm/run", run, sizeof run) < 0 || strcmp(run, "1"))
		cli_error("warning: %s: KSM is not running, nothing will be merged "
			  "(as root: echo 1 > /sys/kernel/mm/ksm/run)", what);
}

const char *cli_default_guest_dir(char *buf, unsigned long len)
{
	const char *dir = getenv("NIMBUS_GUEST_DIR");
	if (dir && *dir) {
		snprintf(buf, len, "%s", dir);
		return buf;
	}
	const char *cache = getenv("NIMBUS_CACHE");
	if (cache && *cache) {
		snprintf(buf, len, "%s/guest/default", cache);
		return buf;
	}
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && *xdg) {
		snprintf(buf, len, "%s/nimbus/guest/default", xdg);
		return buf;
	}
	const char *home = getenv("HOME");
	snprintf(buf, len, "%s/.cache/nimbus/guest/default", home && *home ? home : "/root");
	return buf;
}
