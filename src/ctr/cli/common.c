/* See cli.h. */
#include "ctr/cli/cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage(struct cli *g, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_msg(&g->log, LOG_ERROR, "%s%s%s (see nimbus-runtime %s --help)", g->verb ? g->verb : "",
		g->verb ? ": " : "", msg, g->verb ? g->verb : "");
	return 2;
}

int cli_fail(struct cli *g, const struct err *e)
{
	log_msg(&g->log, LOG_ERROR, "%s", e->msg[0] ? e->msg : strerror(-e->code));
	return e->code == -EINVAL ? 2 : 1;
}

int cli_parse(struct cli *g, int argc, char **argv, int *i, const struct opt *opts,
	      const char *help)
{
	while (*i < argc) {
		char *a = argv[*i];
		if (a[0] != '-' || !a[1])
			return 0;
		if (!strcmp(a, "--")) {
			(*i)++;
			return 0;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "-help")) {
			fputs(help, stdout);
			return 3;
		}
		const char *name = a + 1 + (a[1] == '-');
		const char *val = NULL;
		char buf[128];
		const char *eq = strchr(name, '=');
		if (eq) {
			snprintf(buf, sizeof buf, "%.*s", (int)(eq - name), name);
			name = buf;
			val = eq + 1;
		}
		const struct opt *o = NULL;
		for (const struct opt *k = opts; k && k->name; k++) {
			if (!strcmp(k->name, name) ||
			    (a[1] != '-' && k->shortc && name[0] == k->shortc && !name[1]))
				o = k;
		}
		if (!o)
			return cli_usage(g, "unknown option %s", a);
		(*i)++;
		if (o->kind == OPT_FLAG) {
			if (val && strcmp(val, "true") && strcmp(val, "false"))
				return cli_usage(g, "%s takes no value", a);
			*(bool *)o->target = !val || !strcmp(val, "true");
			continue;
		}
		if (!val) {
			if (*i >= argc)
				return cli_usage(g, "%s needs a value", a);
			val = argv[(*i)++];
		}
		if (o->kind == OPT_STR) {
			*(const char **)o->target = val;
		} else if (o->kind == OPT_INT) {
			char *end;
			long v = strtol(val, &end, 10);
			if (!*val || *end || v < 0 || v > 1 << 20)
				return cli_usage(g, "%s: \"%s\" is not a non-negative number", name, val);
			*(int *)o->target = (int)v;
		} else {
			struct strlist *l = o->target;
			if (l->n < 256)
				l->v[l->n++] = val;
		}
	}
	return 0;
}
