/* nimbus-runtime features: see the help text (runtime-spec features.md). */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/capability.h>

#include "ctr/caps.h"
#include "ctr/cli/cli.h"
#include "ctr/seccomp.h"

static const char help[] =
"Usage: nimbus-runtime features\n"
"\n"
"Prints what this runtime implements as the OCI features JSON document:\n"
"spec versions, hooks, mount options, namespaces, capabilities, cgroup\n"
"versions and seccomp actions, operators and architectures.\n";

static void strs(cJSON *o, const char *k, const char *const *v)
{
	cJSON *a = cJSON_AddArrayToObject(o, k);
	for (; *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
}

int cmd_features(struct cli *g, int argc, char **argv)
{
	int i = 1, rc = cli_parse(g, argc, argv, &i, NULL, help);
	if (rc)
		return rc == 3 ? 0 : rc;
	static const char *const hooks[] = { "prestart", "createRuntime", "createContainer",
					     "startContainer", "poststart", "poststop", NULL };
	static const char *const mopts[] = {
		"async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "mand",
		"noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime",
		"nosuid", "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared",
		"rslave", "runbindable", "rw", "shared", "slave", "strictatime", "suid", "sync",
		"unbindable", NULL };
	static const char *const nss[] = { "cgroup", "ipc", "mount", "network", "pid", "user",
					   "uts", "time", NULL };
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "ociVersionMin", "1.0.0");
	cJSON_AddStringToObject(o, "ociVersionMax", "1.1.0");
	strs(o, "hooks", hooks);
	strs(o, "mountOptions", mopts);
	cJSON *lx = cJSON_AddObjectToObject(o, "linux");
	strs(lx, "namespaces", nss);
	cJSON *caps = cJSON_AddArrayToObject(lx, "capabilities");
	for (int c = 0; c <= caps_last_cap(); c++) {
		char *n = cap_to_name((cap_value_t)c);
		if (!n)
			continue;
		for (char *p = n; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		cJSON_AddItemToArray(caps, cJSON_CreateString(n));
		cap_free(n);
	}
	cJSON *cg = cJSON_AddObjectToObject(lx, "cgroup");
	cJSON_AddBoolToObject(cg, "v1", 1);
	cJSON_AddBoolToObject(cg, "v2", 1);
	cJSON_AddBoolToObject(cg, "systemd", 0);
	cJSON_AddBoolToObject(cg, "systemdUser", 0);
	cJSON_AddBoolToObject(cg, "rdma", 0);
	cJSON *sc = cJSON_AddObjectToObject(lx, "seccomp");
	cJSON_AddBoolToObject(sc, "enabled", 1);
	strs(sc, "actions", (const char *const *)seccomp_action_names);
	strs(sc, "operators", (const char *const *)seccomp_op_names);
	strs(sc, "archs", (const char *const *)seccomp_arch_names);
	static const char *const flags[] = { "SECCOMP_FILTER_FLAG_LOG",
					     "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
					     "SECCOMP_FILTER_FLAG_TSYNC", NULL };
	strs(sc, "knownFlags", flags);
	strs(sc, "supportedFlags", flags);
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(lx, "apparmor"), "enabled", 0);
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(lx, "selinux"), "enabled", 0);
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(lx, "intelRdt"), "enabled", 0);
	cJSON *me = cJSON_AddObjectToObject(lx, "mountExtensions");
	cJSON_AddBoolToObject(cJSON_AddObjectToObject(me, "idmap"), "enabled", 0);
	cJSON *an = cJSON_AddObjectToObject(o, "annotations");
	cJSON_AddStringToObject(an, "io.github.nimbus.runtime.version", "0.1.0");
	char *t = cJSON_Print(o);
	printf("%s\n", t);
	free(t);
	cJSON_Delete(o);
	return 0;
}
