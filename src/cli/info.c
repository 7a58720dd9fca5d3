/* `nimbus info NAME`: one instance's details. */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char usage[] =
	"Usage: nimbus info [--format text|json] [--socket PATH] NAME\n"
	"\n"
	"Show an instance: its type, image, status, supervising process and times.\n"
	"\n"
	"Options:\n"
	"  --format FMT     text (default) or json\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

static void when(const char *label, long long t)
{
	char buf[64] = "-";
	if (t > 0) {
		time_t tt = (time_t)t;
		struct tm tm;
		strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&tt, &tm));
	}
	printf("%-9s %s\n", label, buf);
}

int cmd_info(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *format = "text";
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
	if (argc - optind != 1) {
		cli_error("info: need one NAME (try `nimbus info --help`)");
		return 2;
	}
	if (strcmp(format, "text") && strcmp(format, "json")) {
		cli_error("info: --format %s: expected text or json", format);
		return 2;
	}
	char path[256];
	int rc = cli_instance_path("info", argv[optind], NULL, path, sizeof path);
	if (rc)
		return rc;
	cJSON *in = NULL;
	rc = cli_call("info", sock, "GET", path, NULL, &in);
	if (rc)
		return rc;
	if (!strcmp(format, "json")) {
		char *s = cJSON_Print(in);
		printf("%s\n", s ? s : "{}");
		cJSON_free(s);
	} else {
		printf("%-9s %s\n", "name:", cli_json_str(in, "name"));
		printf("%-9s %s\n", "type:", cli_json_str(in, "type"));
		printf("%-9s %s\n", "image:", cli_json_str(in, "image"));
		printf("%-9s %s\n", "status:", cli_json_str(in, "status"));
		long long pid = cli_json_num(in, "pid");
		if (pid > 0)
			printf("%-9s %lld\n", "pid:", pid);
		when("created:", cli_json_num(in, "created_at"));
		when("started:", cli_json_num(in, "started_at"));
		const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(in, "config");
		long long cpus = cli_json_num(cfg, "cpus"), mib = cli_json_num(cfg, "memory_mib");
		if (cpus || mib) {
			char c[32] = "default", m[32] = "default";
			if (cpus)
				snprintf(c, sizeof c, "%lld", cpus);
			if (mib)
				snprintf(m, sizeof m, "%lldM", mib);
			printf("%-9s cpus=%s memory=%s\n", "config:", c, m);
		}
		const cJSON *d;
		cJSON_ArrayForEach(d, cJSON_GetObjectItemCaseSensitive(cfg, "disks"))
			printf("%-9s %s %.0fM (from the next start if changed while running)\n", "disk:",
			       d->string, d->valuedouble);
		const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(in, "command");
		if (cJSON_IsArray(cmd)) {
			char *t = cJSON_PrintUnformatted(cmd);
			printf("%-9s %s\n", "command:", t ? t : "");
			cJSON_free(t);
		}
		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(in, "terminal")))
			printf("%-9s %s\n", "console:", "a terminal (launch --terminal)");
	}
	cJSON_Delete(in);
	return 0;
}
