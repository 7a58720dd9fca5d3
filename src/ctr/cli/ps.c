/* nimbus-runtime ps: see the help text. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr/cli/cli.h"
#include "ctr/util.h"

static const char help[] =
"Usage: nimbus-runtime ps [--format table|json] ID\n"
"\n"
"Lists the processes in container ID's cgroup (host pids): a table of PID\n"
"and command line, or with --format json an array of pids.\n";

int cmd_ps(struct cli *g, int argc, char **argv)
{
	const char *fmt = "table";
	struct opt opts[] = { { "format", 'f', OPT_STR, &fmt }, { 0 } };
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i < 1)
		return cli_usage(g, "expected a container ID");
	struct ctr_state s;
	struct err e = { 0 };
	struct cgroup cg;
	if (state_load(g->ctx.root, argv[i], &s, &e) || ctr_cgroup(&s, &cg, &e))
		return cli_fail(g, &e);
	pid_t *p;
	size_t n;
	if ((rc = cg_pids(&cg, &p, &n))) {
		err_set(&e, rc, "container \"%s\": cannot read its cgroup", argv[i]);
		return cli_fail(g, &e);
	}
	if (!strcmp(fmt, "json")) {
		cJSON *a = cJSON_CreateArray();
		for (size_t k = 0; k < n; k++)
			cJSON_AddItemToArray(a, cJSON_CreateNumber(p[k]));
		char *t = cJSON_PrintUnformatted(a);
		printf("%s\n", t);
		free(t);
		cJSON_Delete(a);
	} else {
		printf("%-8s %s\n", "PID", "CMD");
		for (size_t k = 0; k < n; k++) {
			char path[64], buf[4096];
			snprintf(path, sizeof path, "/proc/%d/cmdline", (int)p[k]);
			int fd = -1;
			size_t len = 0;
			FILE *f = fopen(path, "r");
			if (f) {
				len = fread(buf, 1, sizeof buf - 1, f);
				fclose(f);
			}
			(void)fd;
			for (size_t j = 0; j + 1 < len; j++)
				if (!buf[j])
					buf[j] = ' ';
			buf[len] = 0;
			printf("%-8d %s\n", (int)p[k], buf);
		}
	}
	free(p);
	state_free(&s);
	return 0;
}
