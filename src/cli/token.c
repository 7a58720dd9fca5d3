/*
 * `nimbus token create|list|revoke`: bearer tokens for the API.  `create`
 * prints the token alone on stdout (T=$(nimbus token create ...)); the
 * daemon keeps only its hash, so it is shown this once.  A revoked token is
 * refused from the next request on.
 */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char usage[] =
	"Usage: nimbus token create --project P --role admin|member|reader\n"
	"       nimbus token list [--format table|json]\n"
	"       nimbus token revoke ID...\n"
	"\n"
	"A token acts within its project: a reader may only look, a member manages the\n"
	"project's instances, an admin also its tokens.  Use one with --token T or\n"
	"$NIMBUS_TOKEN on any verb, over the Unix socket or the daemon's HTTPS listener\n"
	"($NIMBUS_SOCKET=https://HOST:PORT, $NIMBUS_CACERT=STATE/tls/server.crt).\n"
	"`create` prints the token once; list and revoke name it by its ID.\n"
	"\n"
	"Options:\n"
	"  --project P      the token's project (a project admin's token: its own)\n"
	"  --role R         admin, member or reader\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket or https:// URL (default $NIMBUS_SOCKET)\n"
	"  --token T        act as token T (default $NIMBUS_TOKEN)\n"
	"  -h, --help       show this help\n";

int cmd_token(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT, OPT_PROJECT, OPT_ROLE };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "role", required_argument, NULL, OPT_ROLE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *format = "table", *project = NULL, *role = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_PROJECT: project = optarg; break;
		case OPT_ROLE: role = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	bool json;
	if (cli_format("token", format, &json))
		return 2;
	if (optind >= argc) {
		cli_error("token: need a verb: create, list or revoke (try --help)");
		return 2;
	}
	const char *verb = argv[optind++];
	cJSON *reply = NULL;
	int rc;
	if (!strcmp(verb, "create")) {
		if (optind < argc) {
			cli_error("token create: unexpected argument %s", argv[optind]);
			return 2;
		}
		if (!role) {
			cli_error("token create: --role is required (admin, member or reader)");
			return 2;
		}
		if (strcmp(role, "admin") && strcmp(role, "member") && strcmp(role, "reader")) {
			cli_error("token create: --role %s: expected admin, member or reader", role);
			return 2;
		}
		cJSON *body = cJSON_CreateObject();
		if (project)
			cJSON_AddStringToObject(body, "project", project);
		cJSON_AddStringToObject(body, "role", role);
		rc = cli_call("token create", sock, "POST", "/1.0/tokens", body, &reply);
		cJSON_Delete(body);
		if (rc == 0) {
			if (json) {
				char *s = cJSON_Print(reply);
				printf("%s\n", s ? s : "{}");
				cJSON_free(s);
			} else {
				printf("%s\n", cli_json_str(reply, "token"));
				fprintf(stderr, "nimbus: token %s (%s of project %s); it is shown only "
					"this once\n", cli_json_str(reply, "id"), cli_json_str(reply, "role"),
					cli_json_str(reply, "project"));
			}
		}
		cJSON_Delete(reply);
		return rc;
	}
	if (!strcmp(verb, "list")) {
		if (optind < argc) {
			cli_error("token list: unexpected argument %s", argv[optind]);
			return 2;
		}
		if ((rc = cli_call("token list", sock, "GET", "/1.0/tokens", NULL, &reply)))
			return rc;
		if (json) {
			char *s = cJSON_Print(reply);
			printf("%s\n", s ? s : "[]");
			cJSON_free(s);
		} else {
			printf("%-14s %-24s %-8s %s\n", "ID", "PROJECT", "ROLE", "CREATED");
			const cJSON *t;
			cJSON_ArrayForEach(t, reply) {
				time_t at = (time_t)cli_json_num(t, "created_at");
				char when[32];
				strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", gmtime(&at));
				printf("%-14s %-24s %-8s %s\n", cli_json_str(t, "id"),
				       cli_json_str(t, "project"), cli_json_str(t, "role"), when);
			}
		}
		cJSON_Delete(reply);
		return 0;
	}
	if (!strcmp(verb, "revoke")) {
		if (optind >= argc) {
			cli_error("token revoke: need a token ID (see `nimbus token list`)");
			return 2;
		}
		int status = 0;
		for (int i = optind; i < argc; i++) {
			struct err e = { 0 };
			char path[128];
			if (name_check("token", argv[i], &e) < 0) {
				cli_error("token revoke: %s", e.msg);
				rc = 2;
			} else {
				snprintf(path, sizeof path, "/1.0/tokens/%s", argv[i]);
				rc = cli_call("token revoke", sock, "DELETE", path, NULL, NULL);
				if (rc == 0)
					printf("Revoked token %s\n", argv[i]);
			}
			if (rc && !status)
				status = rc;
		}
		return status;
	}
	cli_error("token %s: unknown verb (create, list, revoke)", verb);
	return 2;
}
