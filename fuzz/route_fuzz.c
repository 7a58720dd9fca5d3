/*
 * libFuzzer target: the API's path rules (src/daemon/route.c) on arbitrary
 * request paths, as any local client or token holder can send them, against
 * the shapes of the daemon's route patterns.  Checked besides ASan/UBSan: a
 * path taken has no trailing slash (but "/") and no '..' segment and fits;
 * a {name} matched is one non-empty segment, cut to fit, and the pattern
 * with it put back is the path (when it was not cut).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/route.h"

static const char *const patterns[] = {
	"/1.0", "/1.0/instances", "/1.0/instances/{name}", "/1.0/instances/{name}/exec",
	"/1.0/images/{name}", "/1.0/operations/{name}", "/1.0/projects/{name}/quotas",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[2048], p[1024], name[256];
	if (size >= sizeof path)
		return 0;
	memcpy(path, data, size);
	path[size] = 0;   /* what the HTTP server hands over: a C string */
	enum route_path_result r = route_path(path, p, sizeof p);
	if (r != ROUTE_PATH_OK)
		return 0;
	size_t n = strlen(p);
	if (n >= sizeof p || (n > 1 && p[n - 1] == '/'))
		abort();
	for (const char *s = p; (s = strstr(s, "/..")); s += 3)
		if (s[3] == '/' || s[3] == 0)
			abort();
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		memset(name, 'x', sizeof name);
		if (!route_match(patterns[i], p, name, sizeof name))
			continue;
		const char *at = strstr(patterns[i], "{name}");
		if (!at)
			continue;
		size_t k = strlen(name);
		if (k == 0 || k >= sizeof name || strchr(name, '/'))
			abort();
		if (k < sizeof name - 1) {
			char back[2048];
			snprintf(back, sizeof back, "%.*s%s%s", (int)(at - patterns[i]), patterns[i], name,
				 at + 6);
			if (strcmp(back, p))
				abort();
		}
	}
	return 0;
}
