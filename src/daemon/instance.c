/* See instance.h. */
#include "daemon/instance.h"

#include <errno.h>
#include <string.h>

int name_check(const char *what, const char *name, struct err *e)
{
	size_t n = strlen(name);
	if (n == 0)
		return err_set(e, -EINVAL, "%s: empty name", what);
	if (n > INSTANCE_NAME_MAX)
		return err_set(e, -EINVAL, "%s \"%.20s...\": longer than %d characters",
			       what, name, INSTANCE_NAME_MAX);
	if (strchr(name, '/'))
		return err_set(e, -EINVAL, "%s \"%s\": a name may not contain '/'", what, name);
	if (strstr(name, ".."))
		return err_set(e, -EINVAL, "%s \"%s\": a name may not contain '..'", what, name);
	if (name[0] == '-')
		return err_set(e, -EINVAL, "%s \"%s\": a name may not start with '-'", what, name);
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')
			continue;
		if (c > 0x20 && c < 0x7f)
			return err_set(e, -EINVAL, "%s \"%s\": only a-z, 0-9 and '-' are allowed, not '%c'",
				       what, name, c);
		return err_set(e, -EINVAL, "%s: only a-z, 0-9 and '-' are allowed, not byte 0x%02x",
			       what, (unsigned char)c);
	}
	return 0;
}

const char *kind_str(enum instance_kind k)
{
	return k == KIND_VM ? "vm" : "container";
}

int kind_parse(const char *s, enum instance_kind *out)
{
	if (!strcmp(s, "vm"))
		*out = KIND_VM;
	else if (!strcmp(s, "container"))
		*out = KIND_CONTAINER;
	else
		return -EINVAL;
	return 0;
}

const char *state_str(enum instance_state s)
{
	return s == STATE_RUNNING ? "running" : "stopped";
}

int state_parse(const char *s, enum instance_state *out)
{
	if (!strcmp(s, "running"))
		*out = STATE_RUNNING;
	else if (!strcmp(s, "stopped"))
		*out = STATE_STOPPED;
	else
		return -EINVAL;
	return 0;
}
