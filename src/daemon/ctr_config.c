/*
 * The OCI runtime configuration (config.json) of a daemon container: an
 * imported image's command (its OCI image config), or the image's shell as
 * pid 1 waiting for SIGTERM (a pid 1 has no default action
 * for it, so it traps it), the default capabilities, private namespaces
 * (pid, network, ipc, uts, mount, cgroup), tmpfs on /dev and /tmp, and the
 * usual masked and read-only /proc and /sys paths.
 */
#include "daemon/ctr_config.h"

#include "daemon/fsutil.h"
#include "daemon/oci_user.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cJSON *strings(const char *const *v)
{
	cJSON *a = cJSON_CreateArray();
	for (; *v; v++)
		cJSON_AddItemToArray(a, cJSON_CreateString(*v));
	return a;
}

static cJSON *oci_mount(const char *dst, const char *type, const char *src, const char *const *opts)
{
	cJSON *m = cJSON_CreateObject();
	cJSON_AddStringToObject(m, "destination", dst);
	cJSON_AddStringToObject(m, "type", type);
	cJSON_AddStringToObject(m, "source", src);
	if (opts)
		cJSON_AddItemToObject(m, "options", strings(opts));
	return m;
}

/* The image's User as the process's user (oci_user.h): names resolved in
 * the container's root filesystem. */
static int image_user(cJSON *p, const cJSON *user, const char *rootfs, struct err *e)
{
	struct oci_user u;
	int rc = oci_user_resolve(rootfs, cJSON_IsString(user) ? user->valuestring : "", &u, e);
	if (rc < 0)
		return rc;
	cJSON *pu = cJSON_GetObjectItemCaseSensitive(p, "user");
	cJSON_ReplaceItemInObjectCaseSensitive(pu, "uid", cJSON_CreateNumber(u.uid));
	cJSON_ReplaceItemInObjectCaseSensitive(pu, "gid", cJSON_CreateNumber(u.gid));
	if (u.ngroups) {
		cJSON *g = cJSON_AddArrayToObject(pu, "additionalGids");
		for (size_t i = 0; i < u.ngroups; i++)
			cJSON_AddItemToArray(g, cJSON_CreateNumber(u.groups[i]));
	}
	return 0;
}

/* The process from an OCI image config (image-spec config.md): args are
 * Entrypoint then Cmd; Env as given, with a PATH if it has none; its User.
 * 0, or 1 if the config gives no command, or a negative errno (e set) for a
 * User the image does not define. */
static int image_process(cJSON *p, const char *path, const char *rootfs, struct err *e)
{
	char *text = malloc(1 << 20);
	if (!text)
		return err_set(e, -ENOMEM, "out of memory");
	ssize_t n = read_file(path, text, (1 << 20) - 1);
	cJSON *j = NULL;
	if (n > 0) {
		text[n] = 0;
		j = cJSON_Parse(text);
	}
	free(text);
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "config");
	cJSON *args = cJSON_CreateArray();
	const char *const parts[] = { "Entrypoint", "Cmd" };
	for (int i = 0; i < 2; i++) {
		const cJSON *a, *v = cJSON_GetObjectItemCaseSensitive(c, parts[i]);
		cJSON_ArrayForEach(a, v)
			if (cJSON_IsString(a))
				cJSON_AddItemToArray(args, cJSON_CreateString(a->valuestring));
	}
	if (!cJSON_GetArraySize(args)) {
		cJSON_Delete(args);
		cJSON_Delete(j);
		return 1;
	}
	cJSON_AddItemToObject(p, "args", args);
	cJSON *env = cJSON_CreateArray();
	bool has_path = false;
	const cJSON *a, *ev = cJSON_GetObjectItemCaseSensitive(c, "Env");
	cJSON_ArrayForEach(a, ev)
		if (cJSON_IsString(a) && strchr(a->valuestring, '=')) {
			has_path |= !strncmp(a->valuestring, "PATH=", 5);
			cJSON_AddItemToArray(env, cJSON_CreateString(a->valuestring));
		}
	if (!has_path)
		cJSON_AddItemToArray(env, cJSON_CreateString("PATH=/usr/local/sbin:/usr/local/bin:"
							     "/usr/sbin:/usr/bin:/sbin:/bin"));
	cJSON_AddItemToObject(p, "env", env);
	const cJSON *wd = cJSON_GetObjectItemCaseSensitive(c, "WorkingDir");
	cJSON_AddStringToObject(p, "cwd", cJSON_IsString(wd) && wd->valuestring[0] == '/'
					  ? wd->valuestring : "/");
	int rc = image_user(p, cJSON_GetObjectItemCaseSensitive(c, "User"), rootfs, e);
	cJSON_Delete(j);
	return rc;
}

char *ctr_config(const struct instance *in, const char *rootfs, const char *image_config,
		 const char *netns, const char *const (*binds)[2], int nbinds, struct err *e)
{
	static const char *const caps[] = {
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
		"CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP", NULL,
	};
	static const char *const args[] = {
		"/bin/sh", "-c",
		"trap 'exit 0' TERM; echo \"$(hostname): started\"; sleep 2147483647 & wait", NULL,
	};
	static const char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL };
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "ociVersion", "1.0.2");
	cJSON *p = cJSON_AddObjectToObject(c, "process");
	/* conmon -t then holds the pty's master (ctr_driver.c). */
	cJSON_AddBoolToObject(p, "terminal", in->terminal);
	if (in->terminal) {   /* a size to start with, as a fresh terminal has */
		cJSON *sz = cJSON_AddObjectToObject(p, "consoleSize");
		cJSON_AddNumberToObject(sz, "height", 24);
		cJSON_AddNumberToObject(sz, "width", 80);
	}
	cJSON *u = cJSON_AddObjectToObject(p, "user");
	cJSON_AddNumberToObject(u, "uid", 0);
	cJSON_AddNumberToObject(u, "gid", 0);
	int rc = image_config ? image_process(p, image_config, rootfs, e) : 1;
	if (rc < 0) {
		cJSON_Delete(c);
		return NULL;
	}
	if (rc > 0) {
		cJSON_AddItemToObject(p, "args", strings(args));
		cJSON_AddItemToObject(p, "env", strings(env));
		cJSON_AddStringToObject(p, "cwd", "/");
	}
	/* launch -- COMMAND: in place of the image's (its env and cwd stay). */
	cJSON *cmd = in->command[0] ? cJSON_Parse(in->command) : NULL;
	if (cJSON_IsArray(cmd))
		cJSON_ReplaceItemInObjectCaseSensitive(p, "args", cmd);
	else
		cJSON_Delete(cmd);
	cJSON *cp = cJSON_AddObjectToObject(p, "capabilities");
	cJSON_AddItemToObject(cp, "bounding", strings(caps));
	cJSON_AddItemToObject(cp, "effective", strings(caps));
	cJSON_AddItemToObject(cp, "permitted", strings(caps));
	cJSON_AddBoolToObject(p, "noNewPrivileges", 1);
	cJSON *r = cJSON_AddObjectToObject(c, "root");
	cJSON_AddStringToObject(r, "path", rootfs);
	cJSON_AddBoolToObject(r, "readonly", 0);
	cJSON_AddStringToObject(c, "hostname", in->name);
	static const char *const dev[] = { "nosuid", "strictatime", "mode=755", "size=65536k", NULL };
	static const char *const pts[] = { "nosuid", "noexec", "newinstance", "ptmxmode=0666",
					   "mode=0620", NULL };
	static const char *const shm[] = { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL };
	static const char *const sys[] = { "nosuid", "noexec", "nodev", "ro", NULL };
	static const char *const tmp[] = { "nosuid", "nodev", "mode=1777", NULL };
	cJSON *m = cJSON_AddArrayToObject(c, "mounts");
	cJSON_AddItemToArray(m, oci_mount("/proc", "proc", "proc", NULL));
	cJSON_AddItemToArray(m, oci_mount("/dev", "tmpfs", "tmpfs", dev));
	cJSON_AddItemToArray(m, oci_mount("/dev/pts", "devpts", "devpts", pts));
	cJSON_AddItemToArray(m, oci_mount("/dev/shm", "tmpfs", "shm", shm));
	cJSON_AddItemToArray(m, oci_mount("/sys", "sysfs", "sysfs", sys));
	cJSON_AddItemToArray(m, oci_mount("/tmp", "tmpfs", "tmpfs", tmp));
	static const char *const bind[] = { "rbind", "nosuid", "nodev", NULL };
	for (int i = 0; i < nbinds; i++)
		cJSON_AddItemToArray(m, oci_mount(binds[i][1], "bind", binds[i][0], bind));
	cJSON *lx = cJSON_AddObjectToObject(c, "linux");
	cJSON *ns = cJSON_AddArrayToObject(lx, "namespaces");
	static const char *const nss[] = { "pid", "network", "ipc", "uts", "mount", "cgroup", NULL };
	for (const char *const *t = nss; *t; t++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "type", *t);
		if (netns && !strcmp(*t, "network"))
			cJSON_AddStringToObject(o, "path", netns);
		cJSON_AddItemToArray(ns, o);
	}
	static const char *const masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list",
					      "/sys/firmware", "/proc/acpi", NULL };
	static const char *const ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					  "/proc/sysrq-trigger", NULL };
	cJSON_AddItemToObject(lx, "maskedPaths", strings(masked));
	cJSON_AddItemToObject(lx, "readonlyPaths", strings(ro));
	/* `config set`: cpus as a CFS quota of that many CPUs, memory as a hard limit. */
	if (in->cpus > 0 || in->memory_mib > 0) {
		cJSON *res = cJSON_AddObjectToObject(lx, "resources");
		if (in->cpus > 0) {
			cJSON *cpu = cJSON_AddObjectToObject(res, "cpu");
			cJSON_AddNumberToObject(cpu, "period", 100000);
			cJSON_AddNumberToObject(cpu, "quota", 100000.0 * in->cpus);
		}
		if (in->memory_mib > 0) {
			cJSON *mem = cJSON_AddObjectToObject(res, "memory");
			cJSON_AddNumberToObject(mem, "limit", (double)in->memory_mib * 1048576.0);
		}
	}
	char *s = cJSON_Print(c);
	cJSON_Delete(c);
	return s;
}
