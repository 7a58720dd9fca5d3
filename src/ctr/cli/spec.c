/* nimbus-runtime spec: see the help text. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctr/cli/cli.h"
#include "ctr/util.h"

static const char help[] =
"Usage: nimbus-runtime spec [--bundle DIR] [--rootless]\n"
"\n"
"Writes a template config.json into the bundle directory (default: the\n"
"current one): runs \"sh\" on a terminal from ./rootfs (read-only) in new\n"
"pid, network, ipc, uts, mount and cgroup namespaces with a small set of\n"
"capabilities.  Refuses to overwrite an existing config.json.\n"
"\n"
"Options:\n"
"  --bundle, -b DIR   where to write config.json\n"
"  --rootless         add a user namespace mapping the caller to root\n";

static const char tmpl_a[] =
"{\n"
"  \"ociVersion\": \"1.1.0\",\n"
"  \"process\": {\n"
"    \"terminal\": true,\n"
"    \"user\": { \"uid\": 0, \"gid\": 0 },\n"
"    \"args\": [ \"sh\" ],\n"
"    \"env\": [ \"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", \"TERM=xterm\" ],\n"
"    \"cwd\": \"/\",\n"
"    \"capabilities\": {\n"
"      \"bounding\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
"      \"effective\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ],\n"
"      \"permitted\": [ \"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\" ]\n"
"    },\n"
"    \"rlimits\": [ { \"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024 } ],\n"
"    \"noNewPrivileges\": true\n"
"  },\n"
"  \"root\": { \"path\": \"rootfs\", \"readonly\": true },\n"
"  \"hostname\": \"nimbus\",\n"
"  \"mounts\": [\n"
"    { \"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\" },\n"
"    { \"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": [ \"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\" ] },\n"
"    { \"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", \"options\": [ \"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\"%s ] },\n"
"    { \"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\" ] },\n"
"    { \"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\" ] },\n"
"    { \"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"ro\" ] },\n"
"    { \"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", \"options\": [ \"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\" ] }\n"
"  ],\n"
"  \"linux\": {\n"
"%s"
"    \"namespaces\": [ { \"type\": \"pid\" }, { \"type\": \"network\" }, { \"type\": \"ipc\" }, { \"type\": \"uts\" }, { \"type\": \"mount\" }, { \"type\": \"cgroup\" }%s ],\n"
"%s"
"    \"maskedPaths\": [ \"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", \"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", \"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\" ],\n"
"    \"readonlyPaths\": [ \"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", \"/proc/sysrq-trigger\" ]\n"
"  }\n"
"}\n";

int cmd_spec(struct cli *g, int argc, char **argv)
{
	const char *bundle = ".";
	bool rootless = false;
	struct opt opts[] = { { "bundle", 'b', OPT_STR, &bundle },
			      { "rootless", 0, OPT_FLAG, &rootless }, { 0 } };
	int i = 1, rc = cli_parse(g, argc, argv, &i, opts, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	if (i != argc)
		return cli_usage(g, "takes no arguments");
	char maps[512] = "";
	if (rootless)
		snprintf(maps, sizeof maps,
			 "    \"uidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n"
			 "    \"gidMappings\": [ { \"containerID\": 0, \"hostID\": %u, \"size\": 1 } ],\n",
			 (unsigned)getuid(), (unsigned)getgid());
	char buf[8192];
	/* Rootless: no device cgroup rules, which an ordinary user cannot
	 * write (runc's spec --rootless drops linux.resources too). */
	snprintf(buf, sizeof buf, tmpl_a, rootless ? "" : ", \"gid=5\"",
		 rootless ? "" : "    \"resources\": { \"devices\": [ { \"allow\": false, \"access\": \"rwm\" } ] },\n",
		 rootless ? ", { \"type\": \"user\" }" : "", maps);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/config.json", bundle);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	struct err e = { 0 };
	if (fd < 0) {
		err_set(&e, errno == EEXIST ? -EINVAL : -errno, "%s: %s", path,
			errno == EEXIST ? "already exists" : strerror(errno));
		return cli_fail(g, &e);
	}
	rc = write_all(fd, buf, strlen(buf));
	close(fd);
	if (rc) {
		err_set(&e, rc, "%s: %s", path, strerror(-rc));
		return cli_fail(g, &e);
	}
	return 0;
}
