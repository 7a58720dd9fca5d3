/*
 * `nimbus snapshot create|list|delete|restore INSTANCE [SNAPSHOT]`: a VM's
 * snapshots through the daemon (docs/daemon.md, "Snapshots").  create and
 * restore are operations: this follows each to its end with its progress.
 */
#include "cli/cli.h"

#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus snapshot create INSTANCE SNAPSHOT\n"
	"       nimbus snapshot list INSTANCE [--format table|json]\n"
	"       nimbus snapshot restore INSTANCE SNAPSHOT\n"
	"       nimbus snapshot delete INSTANCE SNAPSHOT\n"
	"\n"
	"A VM's snapshots: `create` saves the running VM (its memory and every\n"
	"device; the guest pauses while it is written, then runs on); `restore`\n"
	"stops the VM and starts it again from the snapshot, where it was.  The\n"
	"VM's configuration must be the one the snapshot was taken with.  Disks\n"
	"are not in a snapshot: a VM with disks (its own, volumes, an imported\n"
	"image's overlay) is refused at restore once they changed since.\n"
	"\n"
	"Options:\n"
	"  --format F       list: table (default) or json\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

static int list(const char *sock, const char *inst, bool json)
{
	char path[256];
	int rc = cli_instance_path("snapshot list", inst, "/snapshots", path, sizeof path);
	cJSON *v = NULL;
	if (rc || (rc = cli_call("snapshot list", sock, "GET", path, NULL, &v)))
		return rc;
	if (json) {
		char *s = cJSON_Print(v);
		printf("%s\n", s ? s : "[]");
		cJSON_free(s);
	} else {
		printf("%-24s %-12s %s\n", "NAME", "CREATED", "SIZE");
		const cJSON *sn;
		cJSON_ArrayForEach(sn, v)
			printf("%-24s %-12lld %.1f MiB\n", cli_json_str(sn, "name"),
			       cli_json_num(sn, "created_at"),
			       (double)cli_json_num(sn, "size_bytes") / (1 << 20));
	}
	cJSON_Delete(v);
	return 0;
}

/* create and restore: a POST whose 202 is followed to its end. */
static int operation(const char *sock, const char *verb, const char *inst, const char *suffix,
		     const char *field, const char *snap)
{
	char path[256];
	int rc = cli_instance_path(verb, inst, suffix, path, sizeof path);
	if (rc)
		return rc;
	cJSON *body = cJSON_CreateObject(), *op = NULL;
	cJSON_AddStringToObject(body, field, snap);
	rc = cli_call(verb, sock, "POST", path, body, &op);
	cJSON_Delete(body);
	if (rc == 0)
		rc = cli_wait_operation(verb, sock, op, false);
	cJSON_Delete(op);
	return rc;
}

int cmd_snapshot(int argc, char **argv)
{
	const char *sock, *sub;
	bool json;
	int rc = cli_subverb("snapshot", usage, "create, list, restore or delete", argc, argv, &sock,
			     &json, &sub);
	if (rc >= 0)
		return rc;
	int want = !strcmp(sub, "list") ? 1 : 2;
	if (strcmp(sub, "create") && strcmp(sub, "list") && strcmp(sub, "restore") &&
	    strcmp(sub, "delete")) {
		cli_error("snapshot: unknown verb %s (create, list, restore or delete; try --help)", sub);
		return 2;
	}
	if (argc - optind != want) {
		cli_error("snapshot %s: need INSTANCE%s (try `nimbus snapshot --help`)", sub,
			  want == 2 ? " and SNAPSHOT" : "");
		return 2;
	}
	const char *inst = argv[optind], *snap = want == 2 ? argv[optind + 1] : NULL;
	if (!strcmp(sub, "list"))
		return list(sock, inst, json);
	if (!strcmp(sub, "create")) {
		if ((rc = operation(sock, "snapshot create", inst, "/snapshots", "name", snap)) == 0)
			printf("Saved snapshot %s of %s\n", snap, inst);
		return rc;
	}
	if (!strcmp(sub, "restore")) {
		if ((rc = operation(sock, "snapshot restore", inst, "/restore", "snapshot", snap)) == 0)
			printf("Restored %s from snapshot %s\n", inst, snap);
		return rc;
	}
	char path[256], suffix[128];
	snprintf(suffix, sizeof suffix, "/snapshots?name=%s", snap);
	struct err e = { 0 };
	if (name_check("snapshot", snap, &e) < 0) {
		cli_error("snapshot delete: %s", e.msg);
		return 2;
	}
	if ((rc = cli_instance_path("snapshot delete", inst, suffix, path, sizeof path)) ||
	    (rc = cli_call("snapshot delete", sock, "DELETE", path, NULL, NULL)))
		return rc;
	printf("Deleted snapshot %s of %s\n", snap, inst);
	return 0;
}
