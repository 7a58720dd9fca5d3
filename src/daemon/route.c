/* See route.h. */
#include "daemon/route.h"

#include <stdio.h>
#include <string.h>

enum route_path_result route_path(const char *path, char *out, size_t size)
{
	size_t plen = strlen(path);
	while (plen > 1 && path[plen - 1] == '/')   /* /1.0/instances/ is /1.0/instances */
		plen--;
	if (plen >= size)
		return ROUTE_PATH_TOO_LONG;
	memcpy(out, path, plen);
	out[plen] = 0;
	/* Refused rather than resolved: a client that sends one is confused or
	 * probing, and curl and browsers resolve them before sending. */
	for (const char *seg = out; (seg = strstr(seg, "/..")); seg += 3)
		if (seg[3] == '/' || seg[3] == 0)
			return ROUTE_PATH_DOTDOT;
	return ROUTE_PATH_OK;
}

bool route_match(const char *pattern, const char *path, char *name, size_t len)
{
	while (*pattern && *path) {
		if (!strncmp(pattern, "{name}", 6)) {
			size_t n = strcspn(path, "/");
			if (n == 0)
				return false;
			/* A longer one is cut, still too long for name_check. */
			snprintf(name, len, "%.*s", (int)(n < len ? n : len - 1), path);
			pattern += 6;
			path += n;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return !*pattern && !*path;
}
