/* nimbus-runtime list: see the help text. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime list [--format table|json] [--quiet]\n"
"\n"
"Lists the containers under --root with their pid, status, bundle and\n"
"creation time.\n"
"\n"
"Options:\n"
"  --format, -f FORMAT   table (default) or json\n"
"  --quiet, -q           print the ids only\n";

int cmd_list(struct cli *g, int argc, char **argv)
{
	const char *fmt = "table";
	bool quiet = false;
	struct opt opts[] = { { "format", 'f', OPT_STR, &fmt }, { "quiet", 'q', OPT_FLAG, &quiet },
			      { 0 } };
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (i != argc)
		return cli_usage(g, "takes no arguments");
	bool json = !strcmp(fmt, "json");
	if (!json && strcmp(fmt, "table"))
		return cli_usage(g, "--format %s: use table or json", fmt);
	DIR *d = opendir(g->ctx.root);
	cJSON *arr = cJSON_CreateArray();
	if (!json && !quiet)
		printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
		       "OWNER");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct ctr_state s;
		struct err e = { 0 };
		if (state_load(g->ctx.root, de->d_name, &s, &e))
			continue;
		enum ctr_status st = ctr_status(&g->ctx, &s);
		int pid = st == ST_STOPPED ? 0 : s.pid;
		if (quiet && !json)
			printf("%s\n", s.id);
		else if (!json)
			printf("%-20s %-8d %-10s %-40s %-32s %s\n", s.id, pid, status_name(st), s.bundle,
			       s.created, "root");
		else {
			char *js = state_oci_json(&s, st, false, NULL, 0);
			cJSON *o = cJSON_Parse(js);
			free(js);
			if (o)
				cJSON_AddItemToArray(arr, o);
		}
		state_free(&s);
	}
	if (d)
		closedir(d);
	if (json) {
		char *out = cJSON_Print(arr);
		printf("%s\n", out);
		free(out);
	}
	cJSON_Delete(arr);
	return 0;
}
