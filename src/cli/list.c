/* `nimbus list`: the daemon's instances, as a table or JSON. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus list [--format table|json] [--socket PATH]\n"
	"\n"
	"List the instances (VMs and containers) the daemon owns.\n"
	"\n"
	"Options:\n"
	"  --format FMT     table (default) or json (the API's objects, for scripts)\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

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
	if (strcmp(format, "table") && strcmp(format, "json")) {
		cli_error("list: --format %s: expected table or json", format);
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
