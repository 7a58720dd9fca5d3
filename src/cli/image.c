/* `nimbus image import|list|delete`: the daemon's images. */
#include "cli/cli.h"
#include "daemon/instance.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: nimbus image import [--name NAME] [--quiet] FILE|DIR\n"
	"       nimbus image list [--format table|json]\n"
	"       nimbus image delete NAME...\n"
	"       nimbus image private NAME PROJECT | public NAME\n"
	"\n"
	"Images the daemon launches instances from.  `import` takes, from this host:\n"
	"  - a container image: a docker-archive or oci-archive tarball (as `podman\n"
	"    save` writes them) or an OCI image layout directory; its layers are\n"
	"    checked against their sha256 digests and unpacked once, shared by every\n"
	"    image and container that has them;\n"
	"  - a VM disk image: qcow2 or raw (booted with the default guest's kernel,\n"
	"    root=/dev/vda); each VM gets its own qcow2 overlay on it.\n"
	"It shows progress and waits until the import is done.  `delete` refuses an\n"
	"image an instance uses.  `nimbus launch IMAGE NAME` makes a VM or a container\n"
	"from the image's kind.\n"
	"An image is public (every project's) until `private` gives it to one\n"
	"project, which alone then sees and launches it (host admin only).\n"
	"\n"
	"Options:\n"
	"  --name NAME      the image's name (default: the file's name, up to its first\n"
	"                   '.', lower-cased)\n"
	"  -q, --quiet      no progress\n"
	"  --format FMT     list: table (default) or json\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET or /run/nimbus/nimbus.sock)\n"
	"  -h, --help       show this help\n";

/* "Debian-12.tar" -> "debian-12". */
static void default_name(const char *path, char *out, size_t len)
{
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s", path);
	size_t n = strlen(tmp);
	while (n > 1 && tmp[n - 1] == '/')
		tmp[--n] = 0;
	const char *base = strrchr(tmp, '/') ? strrchr(tmp, '/') + 1 : tmp;
	size_t k = 0;
	for (const char *p = base; *p && *p != '.' && k + 1 < len && k < INSTANCE_NAME_MAX; p++)
		out[k++] = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a')
			 : ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')) ? *p : '-';
	out[k] = 0;
}

static int import(const char *sock, const char *file, const char *name, bool quiet)
{
	char abs[PATH_MAX], nm[INSTANCE_NAME_MAX + 1];
	if (!realpath(file, abs)) {
		cli_error("image import: %s: %s", file, strerror(errno));
		return 2;
	}
	if (!name) {
		default_name(abs, nm, sizeof nm);
		name = nm;
	}
	struct err e = { 0 };
	if (name_check("image", name, &e) < 0) {
		cli_error("image import: %s%s", e.msg, name == nm ? " (choose one with --name)" : "");
		return 2;
	}
	cJSON *body = cJSON_CreateObject(), *op = NULL;
	cJSON_AddStringToObject(body, "source", abs);
	cJSON_AddStringToObject(body, "name", name);
	int rc = cli_call("image import", sock, "POST", "/1.0/images", body, &op);
	cJSON_Delete(body);
	if (rc == 0 && (rc = cli_wait_operation("image import", sock, op, quiet)) == 0)
		printf("Imported image %s\n", name);
	cJSON_Delete(op);
	return rc;
}

static int list(const char *sock, const char *format)
{
	if (strcmp(format, "table") && strcmp(format, "json")) {
		cli_error("image list: --format %s: expected table or json", format);
		return 2;
	}
	cJSON *v = NULL;
	int rc = cli_call("image list", sock, "GET", "/1.0/images", NULL, &v);
	if (rc)
		return rc;
	if (!strcmp(format, "json")) {
		char *s = cJSON_Print(v);
		printf("%s\n", s ? s : "[]");
		cJSON_free(s);
	} else {
		printf("%-24s %-10s %s\n", "NAME", "TYPE", "DIGEST");
		const cJSON *im;
		cJSON_ArrayForEach(im, v) {
			const char *d = cli_json_str(im, "digest");
			printf("%-24s %-10s %.19s\n", cli_json_str(im, "name"), cli_json_str(im, "type"),
			       *d ? d : "(built in)");
		}
	}
	cJSON_Delete(v);
	return 0;
}

int cmd_image(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_NAME, OPT_FORMAT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "alias", required_argument, NULL, OPT_NAME },
		{ "format", required_argument, NULL, OPT_FORMAT },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	if (argc < 2 || cli_is_help(argv[1])) {
		fputs(usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "import") && strcmp(sub, "list") && strcmp(sub, "delete") &&
	    strcmp(sub, "private") && strcmp(sub, "public")) {
		cli_error("image: unknown subcommand %s (import, list, delete, private or public; "
			  "try --help)", sub);
		return 2;
	}
	const char *sock = NULL, *name = NULL, *format = "table";
	bool quiet = false;
	int c;
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: sock = optarg; break;
		case OPT_NAME: name = optarg; break;
		case OPT_FORMAT: format = optarg; break;
		case 'q': quiet = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (!strcmp(sub, "list")) {
		if (optind < argc) {
			cli_error("image list: unexpected argument %s", argv[optind]);
			return 2;
		}
		return list(sock, format);
	}
	if (!strcmp(sub, "import")) {
		if (argc - optind != 1) {
			cli_error("image import: need one FILE or DIR (try `nimbus image --help`)");
			return 2;
		}
		return import(sock, argv[optind], name, quiet);
	}
	if (!strcmp(sub, "private") || !strcmp(sub, "public"))
		return cli_image_owner(sock, sub, argc - optind, argv + optind);
	if (optind >= argc) {
		cli_error("image delete: need a NAME (try `nimbus image --help`)");
		return 2;
	}
	int status = 0;
	for (int i = optind; i < argc; i++) {
		struct err e = { 0 };
		char path[256];
		int rc = 0;
		if (name_check("image", argv[i], &e) < 0) {
			cli_error("image delete: %s", e.msg);
			rc = 2;
		} else {
			snprintf(path, sizeof path, "/1.0/images/%s", argv[i]);
			rc = cli_call("image delete", sock, "DELETE", path, NULL, NULL);
		}
		if (rc && !status)
			status = rc;
	}
	return status;
}
