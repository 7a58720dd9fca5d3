/* nimbus-runtime update: see the help text. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctr/cli/cli.h"

static const char help[] =
"Usage: nimbus-runtime update [OPTIONS] ID\n"
"\n"
"Changes the resource limits of running container ID.  Limits come from\n"
"--resources (an OCI linux.resources object, \"-\" for stdin) and/or the\n"
"flags below, which override it.\n"
"\n"
"Options:\n"
"  --resources, -r FILE      linux.resources JSON\n"
"  --memory BYTES            memory limit (-1: none)\n"
"  --memory-swap BYTES       memory+swap limit\n"
"  --memory-reservation BYTES  soft limit\n"
"  --cpu-shares N, --cpu-quota US, --cpu-period US\n"
"  --cpuset-cpus LIST, --cpuset-mems LIST\n"
"  --pids-limit N            (-1: none)\n"
"  --blkio-weight N          10-1000\n";

static int num(cJSON *parent, const char *sect, const char *key, const char *v)
{
	if (!v)
		return 0;
	char *end;
	double d = strtod(v, &end);
	if (*end || !*v)
		return -1;
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, sect);
	if (!o)
		o = cJSON_AddObjectToObject(parent, sect);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddNumberToObject(o, key, d);
	return 0;
}

static void str(cJSON *parent, const char *sect, const char *key, const char *v)
{
	if (!v)
		return;
	cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, sect);
	if (!o)
		o = cJSON_AddObjectToObject(parent, sect);
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	cJSON_AddStringToObject(o, key, v);
}

int cmd_update(struct cli *g, int argc, char **argv)
{
	const char *file = NULL, *mem = NULL, *swap = NULL, *resv = NULL, *shares = NULL,
		   *quota = NULL, *period = NULL, *cpus = NULL, *mems = NULL, *pids = NULL,
		   *blkio = NULL;
	struct opt opts[] = {
		{ "resources", 'r', OPT_STR, &file }, { "memory", 0, OPT_STR, &mem },
		{ "memory-swap", 0, OPT_STR, &swap }, { "memory-reservation", 0, OPT_STR, &resv },
		{ "cpu-shares", 0, OPT_STR, &shares }, { "cpu-quota", 0, OPT_STR, &quota },
		{ "cpu-period", 0, OPT_STR, &period }, { "cpuset-cpus", 0, OPT_STR, &cpus },
		{ "cpuset-mems", 0, OPT_STR, &mems }, { "pids-limit", 0, OPT_STR, &pids },
		{ "blkio-weight", 0, OPT_STR, &blkio }, { 0 },
	};
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (argc - i != 1)
		return cli_usage(g, "expected exactly one container ID");
	cJSON *res = NULL;
	if (file) {
		char *txt = NULL;
		if (!strcmp(file, "-")) {
			size_t cap = 65536, n = 0;
			txt = malloc(cap + 1);
			size_t r;
			while ((r = fread(txt + n, 1, cap - n, stdin)) > 0 && (n += r) < cap)
				;
			txt[n] = 0;
		} else if ((rc = read_file(file, &txt, NULL))) {
			return cli_usage(g, "--resources %s: %s", file, strerror(-rc));
		}
		res = cJSON_Parse(txt);
		free(txt);
		if (!cJSON_IsObject(res)) {
			cJSON_Delete(res);
			return cli_usage(g, "--resources %s: not a JSON object", file);
		}
	} else {
		res = cJSON_CreateObject();
	}
	if (num(res, "memory", "limit", mem) || num(res, "memory", "swap", swap) ||
	    num(res, "memory", "reservation", resv) || num(res, "cpu", "shares", shares) ||
	    num(res, "cpu", "quota", quota) || num(res, "cpu", "period", period) ||
	    num(res, "pids", "limit", pids) || num(res, "blockIO", "weight", blkio)) {
		cJSON_Delete(res);
		return cli_usage(g, "a limit flag needs a number");
	}
	str(res, "cpu", "cpus", cpus);
	str(res, "cpu", "mems", mems);
	/* Reuse the config.json parser for validation and field names. */
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "ociVersion", "1.0.0");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(doc, "root"), "path", "/");
	cJSON_AddItemToObject(cJSON_AddObjectToObject(doc, "linux"), "resources", res);
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	struct oci_config c;
	struct err e = { 0 };
	if ((rc = config_parse(&c, text, NULL, &e)) == 0)
		rc = ctr_update(&g->ctx, argv[i], &c.res, &e);
	free(text);
	config_free(&c);
	return rc ? cli_fail(g, &e) : 0;
}
