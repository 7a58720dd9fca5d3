/*
 * `nimbus volume ...`: a project's volumes (see docs/cloud.md).  block
 * volumes are qcow2 disks for VMs, dir volumes directories for containers
 * (at /volumes/NAME); both reach their instance at its next start.
 */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lib/size.h"

static const char usage[] =
	"Usage: nimbus volume create NAME --size SIZE [--type block|dir]\n"
	"       nimbus volume list [--format table|json]\n"
	"       nimbus volume info NAME [--format table|json]\n"
	"       nimbus volume attach NAME INSTANCE\n"
	"       nimbus volume detach NAME\n"
	"       nimbus volume resize NAME --size SIZE\n"
	"       nimbus volume snapshot NAME SNAPSHOT\n"
	"       nimbus volume clone NAME NEW\n"
	"       nimbus volume delete NAME\n"
	"\n"
	"A block volume (the default) is a qcow2 disk in the daemon's storage pool that a\n"
	"VM sees as a virtio disk (serial NAME); a dir volume is a directory a container\n"
	"sees at /volumes/NAME.  A block volume attached to a running VM reaches its\n"
	"guest at once (an empty disk slot of the VM takes it: the guest's vdX of no\n"
	"sectors grows to the volume's size); otherwise a volume reaches its instance\n"
	"at the next start.  Detaching from a running VM takes a hot-plugged volume\n"
	"out at once unless the guest has it mounted (unmount it first); a volume the\n"
	"VM was started with, or a container's, stays until the instance stops.  A\n"
	"snapshot is a read-only copy (clone it to use it); resize only grows.  Resize,\n"
	"snapshot and clone wait until the instance using it is stopped; delete is\n"
	"refused while the volume is attached.  Sizes count against the project's disk\n"
	"quota.\n"
	"\n"
	"Options:\n"
	"  --size SIZE      e.g. 10G, 512M (a multiple of 512 bytes, 1M to 16T)\n"
	"  --type TYPE      block (default) or dir\n"
	"  --project P      host admin only: the owning project at create, else whose\n"
	"                   NAME is meant (default $NIMBUS_PROJECT; names are unique\n"
	"                   per project); a token's project is its own\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket or https:// URL (default $NIMBUS_SOCKET)\n"
	"  --token T        act as token T (default $NIMBUS_TOKEN)\n"
	"  -h, --help       show this help\n";

static void print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);
	printf("%s\n", s ? s : "null");
	cJSON_free(s);
}

static const char *or_dash(const cJSON *o, const char *key)
{
	const char *s = cli_json_str(o, key);
	return *s ? s : "-";
}

static void print_row(const cJSON *v)
{
	char size[32];
	format_size((uint64_t)cli_json_num(v, "size"), size, sizeof size);
	printf("%-20s %-16s %-6s %-10s %-20s %s\n", cli_json_str(v, "name"), cli_json_str(v, "project"),
	       cli_json_str(v, "type"), size, or_dash(v, "attached_to"), or_dash(v, "snapshot_of"));
}

static int check(const char *verb, const char *what, const char *name)
{
	struct err e = { 0 };
	if (name_check(what, name, &e) < 0) {
		cli_error("volume %s: %s", verb, e.msg);
		return 2;
	}
	return 0;
}

int cmd_volume(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_FORMAT, OPT_SIZE, OPT_TYPE, OPT_PROJECT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "project", required_argument, NULL, OPT_PROJECT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *sock = NULL, *format = "table", *size = NULL, *type = NULL, *project = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case OPT_SIZE: size = optarg; break;
		case OPT_TYPE: type = optarg; break;
		case OPT_PROJECT: project = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	bool json;
	if (cli_format("volume", format, &json))
		return 2;
	if (optind >= argc) {
		cli_error("volume: need a verb (try --help)");
		return 2;
	}
	const char *verb = argv[optind++];
	int nargs = argc - optind;
	char **args = argv + optind;
	cJSON *reply = NULL, *body = NULL;
	int rc;
	if (!strcmp(verb, "list")) {
		if (nargs) {
			cli_error("volume list: unexpected argument %s", args[0]);
			return 2;
		}
		char lpath[128] = "/1.0/volumes";
		if (project)   /* the host admin's look at one project */
			snprintf(lpath, sizeof lpath, "/1.0/volumes?project=%s", project);
		if ((rc = cli_call("volume list", sock, "GET", lpath, NULL, &reply)))
			return rc;
		if (json) {
			print_json(reply);
		} else {
			printf("%-20s %-16s %-6s %-10s %-20s %s\n", "NAME", "PROJECT", "TYPE", "SIZE",
			       "ATTACHED TO", "SNAPSHOT OF");
			const cJSON *v;
			cJSON_ArrayForEach(v, reply)
				print_row(v);
		}
		cJSON_Delete(reply);
		return 0;
	}
	static const struct { const char *verb; int nargs; const char *action; } verbs[] = {
		{ "create", 1, NULL }, { "info", 1, NULL }, { "delete", 1, NULL },
		{ "attach", 2, "attach" }, { "detach", 1, "detach" }, { "resize", 1, "resize" },
		{ "snapshot", 2, "snapshot" }, { "clone", 2, "clone" },
	};
	int k = -1;
	for (int i = 0; i < (int)(sizeof verbs / sizeof verbs[0]); i++)
		if (!strcmp(verb, verbs[i].verb))
			k = i;
	if (k < 0) {
		cli_error("volume %s: unknown verb (try --help)", verb);
		return 2;
	}
	if (nargs != verbs[k].nargs) {
		cli_error("volume %s: expected %d argument%s (try --help)", verb, verbs[k].nargs,
			  verbs[k].nargs == 1 ? "" : "s");
		return 2;
	}
	if ((rc = check(verb, "volume", args[0])))
		return rc;
	if (nargs == 2 && (rc = check(verb, strcmp(verb, "attach") ? "volume" : "instance", args[1])))
		return rc;
	bool sized = !strcmp(verb, "create") || !strcmp(verb, "resize");
	if (sized && !size) {
		cli_error("volume %s: --size is required (e.g. --size 10G)", verb);
		return 2;
	}
	char path[256], what[64], suffix[32] = "";
	snprintf(what, sizeof what, "volume %s", verb);
	if (verbs[k].action)
		snprintf(suffix, sizeof suffix, "/%s", verbs[k].action);
	if (strcmp(verb, "create") &&
	    (rc = cli_named_path(what, "volume", args[0], suffix, project, path, sizeof path)))
		return rc;
	if (!strcmp(verb, "create")) {
		body = cJSON_CreateObject();
		cJSON_AddStringToObject(body, "name", args[0]);
		cJSON_AddStringToObject(body, "size", size);
		if (type)
			cJSON_AddStringToObject(body, "type", type);
		if (project)
			cJSON_AddStringToObject(body, "project", project);
		rc = cli_call(what, sock, "POST", "/1.0/volumes", body, &reply);
	} else if (!strcmp(verb, "info")) {
		rc = cli_call(what, sock, "GET", path, NULL, &reply);
	} else if (!strcmp(verb, "delete")) {
		rc = cli_call(what, sock, "DELETE", path, NULL, NULL);
		if (rc == 0)
			printf("Deleted volume %s\n", args[0]);
		return rc;
	} else {
		body = cJSON_CreateObject();
		if (!strcmp(verb, "attach"))
			cJSON_AddStringToObject(body, "instance", args[1]);
		else if (!strcmp(verb, "resize"))
			cJSON_AddStringToObject(body, "size", size);
		else if (nargs == 2)
			cJSON_AddStringToObject(body, "name", args[1]);
		rc = cli_call(what, sock, "POST", path, body, &reply);
	}
	cJSON_Delete(body);
	if (rc == 0) {
		if (json) {
			print_json(reply);
		} else if (!strcmp(verb, "info")) {
			printf("%-20s %-16s %-6s %-10s %-20s %s\n", "NAME", "PROJECT", "TYPE", "SIZE",
			       "ATTACHED TO", "SNAPSHOT OF");
			print_row(reply);
		} else {
			static const char *const done[] = { "Created volume", "", "", "Attached volume",
							    "Detached volume", "Resized volume",
							    "Snapshot", "Cloned into" };
			const cJSON *note = cJSON_GetObjectItemCaseSensitive(reply, "note");
			const char *when = cli_json_str(reply, "takes_effect");
			if (!strcmp(verb, "attach") && when && !strcmp(when, "now"))
				printf("%s %s to %s: its guest has it now (virtio serial %.20s)\n",
				       done[k], args[0], args[1], args[0]);
			else if (!strcmp(verb, "attach") && cJSON_IsString(note))
				printf("%s %s to %s: %s\n", done[k], args[0], args[1],
				       note->valuestring);
			else
				printf("%s %s%s\n", done[k], nargs == 2 ? args[1] : args[0],
				       !strcmp(verb, "attach") ? " (it reaches the instance at its "
				       "next start)" : "");
		}
	}
	cJSON_Delete(reply);
	return rc;
}
