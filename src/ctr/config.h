/*
 * The OCI runtime-spec 1.x config.json, parsed with cJSON into plain structs.
 * Strings point into the cJSON tree kept in struct oci_config, so the tree
 * lives as long as the config; config_free() releases both.  Every parse
 * error names the JSON path of the offending field ("process.args[2]:
 * expected a string").  Fields the spec marks optional are flagged with a
 * `has_` bit or left NULL; Linux-only fields are the only platform parsed.
 */
#ifndef NIMBUS_CTR_CONFIG_H
#define NIMBUS_CTR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

struct cJSON;

struct opt_i64 { bool set; int64_t v; };

struct oci_rlimit { int resource; uint64_t soft, hard; const char *name; };

struct oci_caps {
	bool set;
	uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct oci_process {
	bool terminal;
	unsigned cons_h, cons_w;
	uint32_t uid, gid;
	uint32_t *gids; size_t ngids;
	bool has_umask; mode_t umask;
	char **args; size_t nargs;
	char **env; size_t nenv;
	const char *cwd;
	struct oci_caps caps;
	struct oci_rlimit *rlimits; size_t nrlimits;
	bool nnp;
	const char *apparmor, *selinux;
	bool has_oom; int oom_score_adj;
	char warn[512];            /* ignored fields worth a warning, "; " separated */
};

struct oci_mount {
	const char *dest, *type, *source;
	const char **options; size_t nopt;
	/* Derived from options. */
	unsigned long flags;        /* MS_* to set */
	unsigned long propagation;  /* MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (+MS_REC) */
	bool bind, rbind;
	char *data;                 /* filesystem-specific options, comma joined */
	/* uid/gid mappings of idmapped mounts are not supported. */
};

enum { NS_PID, NS_NET, NS_MNT, NS_IPC, NS_UTS, NS_USER, NS_CGROUP, NS_TIME, NS_COUNT };

struct oci_ns { bool want; const char *path; };

struct oci_idmap { uint32_t ctr, host, size; };

struct oci_device {
	const char *path; char type; int64_t major, minor;
	bool has_mode; mode_t mode; bool has_uid; uid_t uid; bool has_gid; gid_t gid;
};

struct oci_devrule { bool allow; char type; int64_t major, minor; const char *access; };

struct oci_weightdev { int64_t major, minor; struct opt_i64 weight, leaf; };
struct oci_ratedev { int64_t major, minor; uint64_t rate; };
struct oci_hugepage { const char *size; uint64_t limit; };
struct oci_kv { const char *key, *value; };

struct oci_resources {
	struct opt_i64 mem_limit, mem_reservation, mem_swap, mem_kernel, mem_kernel_tcp, mem_swappiness;
	bool mem_disable_oom;
	struct opt_i64 cpu_shares, cpu_quota, cpu_period, cpu_rt_runtime, cpu_rt_period, cpu_idle;
	const char *cpus, *mems;
	struct opt_i64 pids_limit;
	struct opt_i64 blkio_weight, blkio_leaf_weight;
	struct oci_weightdev *wdev; size_t nwdev;
	struct oci_ratedev *rdev[4]; size_t nrdev[4]; /* read bps, write bps, read iops, write iops */
	struct oci_hugepage *huge; size_t nhuge;
	struct oci_devrule *devs; size_t ndevs;
	struct oci_kv *unified; size_t nunified;
};

struct oci_hook { const char *path; char **args; size_t nargs; char **env; size_t nenv; int timeout; };

enum { HOOK_PRESTART, HOOK_CREATE_RUNTIME, HOOK_CREATE_CONTAINER, HOOK_START_CONTAINER,
       HOOK_POSTSTART, HOOK_POSTSTOP, HOOK_KINDS };

struct oci_config {
	struct cJSON *root;          /* owns all strings below */
	const char *oci_version;
	const char *root_path;       /* root.path, made absolute against the bundle */
	char *root_abs;
	bool root_ro;
	bool has_process;
	struct oci_process proc;
	const char *hostname, *domainname;
	struct oci_mount *mounts; size_t nmounts;
	struct oci_hook *hooks[HOOK_KINDS]; size_t nhooks[HOOK_KINDS];
	struct oci_kv *annotations; size_t nannotations;
	/* linux */
	struct oci_ns ns[NS_COUNT];
	struct oci_idmap *uidmap; size_t nuidmap;
	struct oci_idmap *gidmap; size_t ngidmap;
	struct oci_device *devices; size_t ndevices;
	const char *cgroups_path;
	bool has_resources;
	struct oci_resources res;
	struct oci_kv *sysctl; size_t nsysctl;
	const struct cJSON *seccomp;  /* validated, compiled by seccomp.c */
	unsigned long rootfs_propagation; /* 0 = default */
	const char **masked; size_t nmasked;
	const char **readonly; size_t nreadonly;
	const char *mount_label;
	struct opt_i64 personality;
};

/* The namespace's name in config.json ("pid", "network", ...) and its CLONE_NEW* flag. */
const char *ns_name(int ns);
const char *ns_proc_name(int ns);   /* name under /proc/PID/ns/ */
int ns_flag(int ns);

/* Parses text (a config.json) read from `bundle`; relative root.path is
 * resolved against bundle.  Returns 0 or -EINVAL with the field named. */
int config_parse(struct oci_config *c, const char *text, const char *bundle, struct err *e);
/* Reads BUNDLE/config.json and parses it. */
int config_load(struct oci_config *c, const char *bundle, struct err *e);
void config_free(struct oci_config *c);

/* Parses a process object (config's "process" or `exec --process` file). */
int config_parse_process(struct oci_process *p, const struct cJSON *obj, const char *where,
			 struct err *e);
void config_free_process(struct oci_process *p);

/* Capability name ("CAP_SYS_ADMIN") to number, -1 if unknown. */
int cap_from_name_str(const char *name);
/* Mount option parsing, shared with unit tests: fills flags/propagation/data. */
int mount_parse_options(struct oci_mount *m, const char *where, struct err *e);

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
int read_file(const char *path, char **out, size_t *len);

#endif
