/*
 * What the daemon-backed verbs (launch, list, info, start, stop, delete)
 * share: the --socket option, one call to the daemon with the error printed
 * as one line, and the exit status for it.
 */
#include "cli/cli.h"
#include "daemon/client.h"
#include "daemon/instance.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cli_call(const char *verb, const char *sock, const char *method, const char *path,
	     const cJSON *body, cJSON **reply)
{
	char *text = body ? cJSON_PrintUnformatted(body) : NULL;
	struct err e = { 0 };
	int rc = client_call(client_socket_path(sock), method, path, text, NULL, reply, &e);
	cJSON_free(text);
	if (rc == 0)
		return 0;
	cli_error("%s: %s", verb, e.msg);
	return rc == -EINVAL ? 2 : 1;
}

bool cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

const char *cli_json_str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : "";
}

long long cli_json_num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : 0;
}

int cli_named_path(const char *verb, const char *noun, const char *name, const char *suffix,
		   const char *project, char *buf, size_t len)
{
	struct err e = { 0 };
	if (name_check(noun, name, &e) < 0) {
		cli_error("%s: %s", verb, e.msg);
		return 2;
	}
	/* Names are unique per project (docs/cloud.md): the host admin says
	 * which project's NAME with --project or $NIMBUS_PROJECT; a token's is
	 * its own. */
	const char *from = project ? "--project" : "$NIMBUS_PROJECT";
	if (!project)
		project = getenv("NIMBUS_PROJECT");
	if (project && *project && name_check("project", project, &e) < 0) {
		cli_error("%s: %s: %s", verb, from, e.msg);
		return 2;
	}
	suffix = suffix ? suffix : "";
	if (project && *project)
		snprintf(buf, len, "/1.0/%ss/%s%s%sproject=%s", noun, name, suffix,
			 strchr(suffix, '?') ? "&" : "?", project);
	else
		snprintf(buf, len, "/1.0/%ss/%s%s", noun, name, suffix);
	return 0;
}

int cli_instance_path(const char *verb, const char *name, const char *suffix, char *buf,
		      size_t len)
{
	return cli_named_path(verb, "instance", name, suffix, NULL, buf, len);
}

/* stop and restart: the same options and body ({"timeout"?, "force"}), each
 * NAME in turn; the status of the first failure. */
int cli_format(const char *cmd, const char *format, bool *json)
{
	if (strcmp(format, "table") && strcmp(format, "json")) {
		cli_error("%s: --format %s: expected table or json", cmd, format);
		return 2;
	}
	*json = !strcmp(format, "json");
	return 0;
}

int cli_subverb(const char *cmd, const char *usage, const char *verbs, int argc, char **argv,
		const char **sock, bool *json, const char **sub)
{
	int rc = cli_socket_format(cmd, usage, argc, argv, sock, json);
	if (rc >= 0)
		return rc;
	if (optind >= argc) {
		cli_error("%s: need a verb: %s (try --help)", cmd, verbs);
		return 2;
	}
	*sub = argv[optind++];
	return -1;
}

int cli_socket_format(const char *cmd, const char *usage, int argc, char **argv,
		      const char **sock, bool *json)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *format = "table";
	int c;
	*sock = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: *sock = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (cli_format(cmd, format, json))
		return 2;
	return -1;
}

int cli_stop_verb(const char *verb, const char *usage, int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_TIMEOUT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL;
	long timeout = -1;
	int force = 0, c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_TIMEOUT: {
			char *end;
			timeout = strtol(optarg, &end, 10);
			if (*end || end == optarg || timeout < 0 || timeout > 3600) {
				cli_error("%s: --timeout %s: expected whole seconds from 0 to 3600",
					  verb, optarg);
				return 2;
			}
			break;
		}
		case 'f': force = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind >= argc) {
		cli_error("%s: need a NAME (try `nimbus %s --help`)", verb, verb);
		return 2;
	}
	cJSON *body = cJSON_CreateObject();
	if (timeout >= 0)
		cJSON_AddNumberToObject(body, "timeout", (double)timeout);
	cJSON_AddBoolToObject(body, "force", force);
	int status = 0;
	for (int i = optind; i < argc; i++) {
		char path[256], suffix[32];
		snprintf(suffix, sizeof suffix, "/%s", verb);
		int rc = cli_instance_path(verb, argv[i], suffix, path, sizeof path);
		if (rc == 0)
			rc = cli_call(verb, sock, "POST", path, body, NULL);
		if (rc && !status)
			status = rc;
	}
	cJSON_Delete(body);
	return status;
}

int cli_wait_operation(const char *verb, const char *sock, const cJSON *first, bool quiet)
{
	char path[256];
	snprintf(path, sizeof path, "/1.0/operations/%s?wait=1", cli_json_str(first, "id"));
	bool tty = !quiet && isatty(STDERR_FILENO);
	char last[200] = "";
	cJSON *op = cJSON_Duplicate(first, 1);
	int rc = 0;
	while (op && !strcmp(cli_json_str(op, "status"), "running")) {
		long long pct = cli_json_num(op, "progress");
		const char *stage = cli_json_str(op, "stage");
		if (tty) {
			int bar = (int)(pct * 30 / 100);
			fprintf(stderr, "\r[%.*s%*s] %3lld%% %-60.60s", bar,
				"##############################", 30 - bar, "", pct, stage);
		} else if (!quiet && strcmp(last, stage)) {
			fprintf(stderr, "%3lld%% %s\n", pct, stage);
			snprintf(last, sizeof last, "%s", stage);
		}
		cJSON_Delete(op);
		op = NULL;
		if ((rc = cli_call(verb, sock, "GET", path, NULL, &op)))
			return rc;
	}
	if (tty)
		fprintf(stderr, "\r%*s\r", 100, "");
	if (!op || strcmp(cli_json_str(op, "status"), "success")) {
		cli_error("%s: %s", verb, op ? cli_json_str(op, "error") : "out of memory");
		rc = 1;
	}
	cJSON_Delete(op);
	return rc;
}
