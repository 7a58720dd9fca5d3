/* `nimbus monitor`: the daemon's lifecycle events as they happen. */
#include "cli/cli.h"
#include "daemon/client.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
	"Usage: nimbus monitor [--format text|json] [--instance NAME] [--since ID] [--count N]\n"
	"                      [--socket PATH]\n"
	"\n"
	"Print the daemon's lifecycle events (created, started, stopped, paused,\n"
	"resumed, updated, deleted; a VM's reset, guest panic, device error) as they\n"
	"happen, one per line, until interrupted or the daemon stops.\n"
	"\n"
	"Options:\n"
	"  --format FMT     text (default: TIME ID TYPE INSTANCE DETAIL) or json (one\n"
	"                   object per line, as the API sends them)\n"
	"  --instance NAME  only this instance's events\n"
	"  --since ID       first replay the events after ID the daemon still keeps\n"
	"  --count N        exit after N events\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

struct mon {
	bool json;
	const char *instance;
	long count;   /* events left to print, or -1 */
};

static int on_line(const char *line, void *arg)
{
	struct mon *m = arg;
	if (strncmp(line, "data: ", 6))
		return 0;   /* id:, event:, comments and blank lines: the data line has it all */
	cJSON *j = cJSON_Parse(line + 6);
	if (!j)
		return 0;
	const char *inst = cli_json_str(j, "instance");
	if (m->instance && strcmp(inst, m->instance)) {
		cJSON_Delete(j);
		return 0;
	}
	if (m->json) {
		printf("%s\n", line + 6);
	} else if (cJSON_GetObjectItemCaseSensitive(j, "lost")) {
		printf("(%lld older events were no longer kept)\n", cli_json_num(j, "lost"));
	} else {
		long long ns = cli_json_num(j, "time_ns");
		time_t t = (time_t)(ns / 1000000000);
		struct tm tm;
		char when[32];
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", gmtime_r(&t, &tm));
		printf("%s.%03dZ %-5lld %-22s %-16s %s\n", when, (int)(ns / 1000000 % 1000),
		       cli_json_num(j, "id"), cli_json_str(j, "type"), *inst ? inst : "-",
		       cli_json_str(j, "detail"));
	}
	fflush(stdout);
	cJSON_Delete(j);
	return m->count > 0 && --m->count == 0;
}

int cmd_monitor(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT, OPT_INSTANCE, OPT_SINCE, OPT_COUNT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "instance", required_argument, NULL, OPT_INSTANCE },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "count", required_argument, NULL, OPT_COUNT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *since = NULL;
	struct mon m = { .count = -1 };
	int c;
	char *end;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_FORMAT:
			if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
				cli_error("monitor: --format %s: expected text or json", optarg);
				return 2;
			}
			m.json = !strcmp(optarg, "json");
			break;
		case OPT_INSTANCE: m.instance = optarg; break;
		case OPT_SINCE:
			strtoull(optarg, &end, 10);
			if (!*optarg || *end || *optarg == '-') {
				cli_error("monitor: --since %s: expected an event id", optarg);
				return 2;
			}
			since = optarg;
			break;
		case OPT_COUNT:
			m.count = strtol(optarg, &end, 10);
			if (!*optarg || *end || m.count < 1) {
				cli_error("monitor: --count %s: expected a number from 1", optarg);
				return 2;
			}
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_error("monitor: unexpected argument %s (try --help)", argv[optind]);
		return 2;
	}
	struct err e = { 0 };
	if (m.instance && name_check("instance", m.instance, &e) < 0) {
		cli_error("monitor: --instance: %s", e.msg);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	int rc = client_stream(client_socket_path(sock), "/1.0/events", since, on_line, &m, &e);
	if (rc < 0) {
		cli_error("monitor: %s", e.msg);
		return rc == -EINVAL ? 2 : 1;
	}
	return 0;
}
