/* `nimbus list`: the daemon's instances, as a table, JSON, YAML or CSV. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus list [--format table|json|yaml|csv] [--socket PATH]\n"
	"\n"
	"List the instances (VMs and containers) the daemon owns.\n"
	"\n"
	"Options:\n"
	"  --format FMT     table (default); json (the API's objects, for scripts); yaml;\n"
	"                   csv (RFC 4180, a header line: name,type,status,image,pid,\n"
	"                   created_at,started_at)\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

static const char *const columns[] = { "name", "type", "status", "image", "pid", "created_at",
					"started_at", NULL };

/* Every value is quoted: names are safe, but a YAML reader must never take
 * "no" or "0755" for something else. */
static void yaml_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\x%02x", (unsigned char)*s);
		else
			putchar(*s);
	putchar('"');
}

static void print_yaml(const cJSON *list)
{
	if (!cJSON_GetArraySize(list)) {
		printf("[]\n");
		return;
	}
	const cJSON *in;
	cJSON_ArrayForEach(in, list) {
		const char *lead = "- ";
		for (const char *const *c = columns; *c; c++, lead = "  ") {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, *c);
			printf("%s%s: ", lead, *c);
			if (cJSON_IsNumber(v))
				printf("%lld\n", (long long)v->valuedouble);
			else {
				yaml_str(cJSON_IsString(v) ? v->valuestring : "");
				putchar('\n');
			}
		}
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(in, "config");
		printf("  config:\n    cpus: %lld\n    memory_mib: %lld\n", cli_json_num(cfg, "cpus"),
		       cli_json_num(cfg, "memory_mib"));
	}
}

/* RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
static void csv_field(const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n")) {
		putchar('"');
		for (; *s; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
	} else {
		fputs(s, stdout);
	}
	fputs(last ? "\r\n" : ",", stdout);
}

static void print_csv(const cJSON *list)
{
	for (const char *const *c = columns; *c; c++)
		csv_field(*c, !c[1]);
	const cJSON *in;
	cJSON_ArrayForEach(in, list) {
		for (const char *const *c = columns; *c; c++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(in, *c);
			char num[32];
			if (cJSON_IsNumber(v))
				snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
			csv_field(cJSON_IsNumber(v) ? num : cJSON_IsString(v) ? v->valuestring : "",
				  !c[1]);
		}
	}
}

int cmd_list(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *format = "table";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_error("list: unexpected argument %s (try --help)", argv[optind]);
		return 2;
	}
	if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "yaml") &&
	    strcmp(format, "csv")) {
		cli_error("list: --format %s: expected table, json, yaml or csv", format);
		return 2;
	}
	cJSON *reply = NULL;
	int rc = cli_call("list", sock, "GET", "/1.0/instances", NULL, &reply);
	if (rc)
		return rc;
	if (!strcmp(format, "json")) {
		char *s = cJSON_Print(reply);
		printf("%s\n", s ? s : "[]");
		cJSON_free(s);
	} else if (!strcmp(format, "yaml")) {
		print_yaml(reply);
	} else if (!strcmp(format, "csv")) {
		print_csv(reply);
	} else {
		printf("%-24s %-10s %-8s %-12s %s\n", "NAME", "TYPE", "STATUS", "IMAGE", "PID");
		const cJSON *in;
		cJSON_ArrayForEach(in, reply) {
			long long pid = cli_json_num(in, "pid");
			char pids[24] = "-";
			if (pid > 0)
				snprintf(pids, sizeof pids, "%lld", pid);
			printf("%-24s %-10s %-8s %-12s %s\n", cli_json_str(in, "name"),
			       cli_json_str(in, "type"), cli_json_str(in, "status"),
			       cli_json_str(in, "image"), pids);
		}
	}
	cJSON_Delete(reply);
	return 0;
}
