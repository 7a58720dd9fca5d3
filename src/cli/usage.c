/*
 * `nimbus usage [--project P] [--since T] [--until T] [--format json]`:
 * metered usage (vCPU-seconds, memory and disk GiB-hours) per project,
 * instance and volume.  T is Unix seconds, or a duration ago (30m, 2h, 7d).
 */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
	"Usage: nimbus usage [--project P] [--since T] [--until T] [--bill] [--format table|json]\n"
	"\n"
	"What instances and volumes used: vCPU-seconds and memory GiB-hours while each\n"
	"instance ran (what it reserved at launch), the CPU seconds its processes\n"
	"measurably used (CPU USED), the bytes its network interfaces\n"
	"received and sent, disk GiB-hours while each volume existed; per project,\n"
	"with a line per instance and volume.  A token sees its own project.  T is\n"
	"Unix seconds or a duration ago: 30m, 2h, 7d (default: since metering began,\n"
	"until now).  --bill prices it with the daemon's price list (nimbusd --price):\n"
	"a line per project with the cost of vCPUs, memory, disk and the network\n"
	"bytes its instances sent.\n"
	"\n"
	"Options:\n"
	"  --project P      one project\n"
	"  --since T        the window's start\n"
	"  --until T        its end\n"
	"  --bill           the bill per project instead of the usage\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket or https:// URL (default $NIMBUS_SOCKET)\n"
	"  --token T        act as token T (default $NIMBUS_TOKEN)\n"
	"  -h, --help       show this help\n";

/* T as Unix seconds into buf; -1 (printed) if it is neither form. */
static int parse_when(const char *opt, const char *s, char *buf, size_t len)
{
	char *end;
	double v = strtod(s, &end);
	if (end != s && v >= 0) {
		static const struct { char unit; long secs; } units[] = {
			{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		};
		if (!*end) {
			snprintf(buf, len, "%.3f", v);
			return 0;
		}
		for (size_t i = 0; i < 4; i++)
			if (end[0] == units[i].unit && !end[1]) {
				snprintf(buf, len, "%.3f", (double)time(NULL) - v * (double)units[i].secs);
				return 0;
			}
	}
	cli_error("usage: %s %s: expected Unix seconds or a duration ago such as 30m, 2h, 7d", opt, s);
	return -1;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void print_bill(const cJSON *reply)
{
	const cJSON *prices = cJSON_GetObjectItemCaseSensitive(reply, "prices");
	const char *cur = cli_json_str(prices, "currency");
	printf("Prices%s%s: vCPU-hour %g, memory GiB-hour %g, disk GiB-hour %g, network GiB sent "
	       "%g\n", *cur ? " in " : "", cur, num(prices, "vcpu-hour"),
	       num(prices, "memory-gib-hour"), num(prices, "disk-gib-hour"),
	       num(prices, "network-gib"));
	printf("%-20s %12s %12s %12s %12s %12s\n", "PROJECT", "VCPU", "MEMORY", "DISK", "NETWORK",
	       "TOTAL");
	const cJSON *p;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(reply, "projects")) {
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(p, "bill");
		printf("%-20s %12.4f %12.4f %12.4f %12.4f %12.4f\n", cli_json_str(p, "project"),
		       num(b, "vcpu"), num(b, "memory"), num(b, "disk"), num(b, "network"),
		       num(b, "total"));
	}
}

int cmd_usage(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT, OPT_PROJECT, OPT_SINCE, OPT_UNTIL, OPT_BILL };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "bill", no_argument, NULL, OPT_BILL },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *format = "table", *project = NULL;
	char since[32] = "", until[32] = "";
	bool bill = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_PROJECT: project = optarg; break;
		case OPT_BILL: bill = true; break;
		case OPT_SINCE:
			if (parse_when("--since", optarg, since, sizeof since) < 0)
				return 2;
			break;
		case OPT_UNTIL:
			if (parse_when("--until", optarg, until, sizeof until) < 0)
				return 2;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_error("usage: unexpected argument %s (try --help)", argv[optind]);
		return 2;
	}
	if (strcmp(format, "table") && strcmp(format, "json")) {
		cli_error("usage: --format %s: expected table or json", format);
		return 2;
	}
	struct err e = { 0 };
	if (project && name_check("project", project, &e) < 0) {
		cli_error("usage: %s", e.msg);
		return 2;
	}
	char path[256];
	int n = snprintf(path, sizeof path, "/1.0/usage?");
	if (project)
		n += snprintf(path + n, sizeof path - (size_t)n, "project=%s&", project);
	if (since[0])
		n += snprintf(path + n, sizeof path - (size_t)n, "since=%s&", since);
	if (until[0])
		n += snprintf(path + n, sizeof path - (size_t)n, "until=%s&", until);
	path[n - 1] = 0;   /* the last '&' or the '?' */
	cJSON *reply = NULL;
	int rc = cli_call("usage", sock, "GET", path, NULL, &reply);
	if (rc)
		return rc;
	if (bill && !cJSON_GetObjectItemCaseSensitive(reply, "prices")) {
		cli_error("usage --bill: the daemon has no price list (start it with --price "
			  "vcpu-hour=... --price memory-gib-hour=... --price disk-gib-hour=...)");
		cJSON_Delete(reply);
		return 1;
	}
	if (bill && strcmp(format, "json")) {
		print_bill(reply);
	} else if (!strcmp(format, "json")) {
		char *s = cJSON_Print(reply);
		printf("%s\n", s ? s : "{}");
		cJSON_free(s);
	} else {
		printf("%-20s %-22s %14s %14s %14s %14s %14s %14s\n", "PROJECT", "INSTANCE/VOLUME",
		       "VCPU-SECONDS", "CPU USED (S)", "MEM GIB-HOURS", "DISK GIB-HOURS",
		       "NET RX BYTES", "NET TX BYTES");
		const cJSON *p;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(reply, "projects")) {
			const char *pn = cli_json_str(p, "project");
			const cJSON *i;
			cJSON_ArrayForEach(i, cJSON_GetObjectItemCaseSensitive(p, "instances"))
				printf("%-20s %-22s %14.1f %14.1f %14.4f %14s %14.0f %14.0f\n", pn,
				       cli_json_str(i, "name"), num(i, "vcpu_seconds"),
				       num(i, "cpu_seconds"), num(i, "memory_gib_hours"), "-",
				       num(i, "net_rx_bytes"), num(i, "net_tx_bytes"));
			cJSON_ArrayForEach(i, cJSON_GetObjectItemCaseSensitive(p, "volumes"))
				printf("%-20s %-22s %14s %14s %14s %14.4f %14s %14s\n", pn,
				       cli_json_str(i, "name"), "-", "-", "-", num(i, "disk_gib_hours"),
				       "-", "-");
			printf("%-20s %-22s %14.1f %14.1f %14.4f %14.4f %14.0f %14.0f\n", pn, "(total)",
			       num(p, "vcpu_seconds"), num(p, "cpu_seconds"), num(p, "memory_gib_hours"),
			       num(p, "disk_gib_hours"), num(p, "net_rx_bytes"), num(p, "net_tx_bytes"));
		}
	}
	cJSON_Delete(reply);
	return 0;
}
