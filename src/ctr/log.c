/* See log.h. */
#include "ctr/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctr/util.h"

static const char *lvl_name[] = { "error", "warning", "info", "debug" };

int log_open(struct ctr_log *l, const char *path, const char *format, bool debug)
{
	l->fd = -1;
	l->debug = debug;
	l->json = format && !strcmp(format, "json");
	l->also_stderr = false;
	if (format && strcmp(format, "json") && strcmp(format, "text"))
		return -EINVAL;
	if (!path || !*path)
		return 0;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	l->fd = fd;
	return 0;
}

void log_format(char *buf, unsigned n, bool json, enum log_level lvl, const char *msg)
{
	if (!json) {
		snprintf(buf, n, "nimbus-runtime: %s%s\n", lvl == LOG_WARN ? "warning: " :
			 lvl == LOG_DEBUG ? "debug: " : "", msg);
		return;
	}
	char t[64];
	now_rfc3339(t, sizeof t);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "level", lvl_name[lvl]);
	cJSON_AddStringToObject(o, "msg", msg);
	cJSON_AddStringToObject(o, "time", t);
	char *s = cJSON_PrintUnformatted(o);
	snprintf(buf, n, "%s\n", s ? s : "{}");
	free(s);
	cJSON_Delete(o);
}

void log_msg(const struct ctr_log *l, enum log_level lvl, const char *fmt, ...)
{
	if (lvl == LOG_DEBUG && !l->debug)
		return;
	char msg[1024], line[1400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (l->fd >= 0) {
		log_format(line, sizeof line, l->json, lvl, msg);
		(void)!write(l->fd, line, strlen(line));
	}
	if (l->fd < 0 || (l->also_stderr && lvl == LOG_ERROR)) {
		log_format(line, sizeof line, false, lvl, msg);
		(void)!write(2, line, strlen(line));
	}
}
