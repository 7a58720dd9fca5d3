/* nimbus-runtime events: see the help text. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime events [--stats] [--interval SECONDS] ID\n"
"\n"
"With --stats, prints one JSON object with the container's resource usage\n"
"(memory, pids, cpu) and its OOM kill count.  Without, prints a JSON line\n"
"{\"type\":\"oom\",...} each time the kernel OOM-kills a process in the\n"
"container, and a stats line every interval (default 5 s), until the\n"
"container stops.\n";

static cJSON *stats(const char *id, const struct cgroup *cg)
{
	uint64_t use, lim, pids, cpu, ooms = 0;
	cg_stats(cg, &use, &lim, &pids, &cpu);
	cg_oom_kills(cg, &ooms);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "type", "stats");
	cJSON_AddStringToObject(o, "id", id);
	cJSON *d = cJSON_AddObjectToObject(o, "data");
	cJSON *m = cJSON_AddObjectToObject(d, "memory");
	cJSON *u = cJSON_AddObjectToObject(m, "usage");
	cJSON_AddNumberToObject(u, "usage", (double)use);
	cJSON_AddNumberToObject(u, "limit", (double)lim);
	cJSON_AddNumberToObject(m, "oomKills", (double)ooms);
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(d, "pids"), "current", (double)pids);
	cJSON *c = cJSON_AddObjectToObject(d, "cpu");
	cJSON_AddNumberToObject(cJSON_AddObjectToObject(c, "usage"), "total", (double)cpu);
	return o;
}

static void emit(cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);
	printf("%s\n", t);
	fflush(stdout);
	free(t);
	cJSON_Delete(o);
}

int cmd_events(struct cli *g, int argc, char **argv)
{
	bool st = false;
	int interval = 5;
	struct opt opts[] = { { "stats", 0, OPT_FLAG, &st }, { "interval", 0, OPT_INT, &interval },
			      { 0 } };
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	struct ctr_state s;
	struct err e = { 0 };
	struct cgroup cg;
	if (state_load(g->ctx.root, argv[i], &s, &e) || ctr_cgroup(&s, &cg, &e))
		return cli_fail(g, &e);
	if (st) {
		emit(stats(s.id, &cg));
		state_free(&s);
		return 0;
	}
	uint64_t last = 0, now;
	cg_oom_kills(&cg, &last);
	int ticks = 0;
	while (ctr_status(&g->ctx, &s) != ST_STOPPED) {
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		if (cg_oom_kills(&cg, &now) == 0 && now > last) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "type", "oom");
			cJSON_AddStringToObject(o, "id", s.id);
			emit(o);
			last = now;
		}
		if (interval && ++ticks >= interval * 10) {
			ticks = 0;
			emit(stats(s.id, &cg));
		}
	}
	state_free(&s);
	return 0;
}
