/*
 * An instance: one VM or one container the daemon owns, as plain data.  The
 * same record is a row of the `instances` table, a JSON object of the API
 * and a line of `nimbus list`.  `pid`/`pid_start` name the supervising
 * process (conmon for a container, `nimbus vm run` for a VM) by its pid and
 * its start time (field 22 of /proc/PID/stat), so a recycled pid is never
 * mistaken for the instance after a daemon restart.
 */
#ifndef NIMBUS_DAEMON_INSTANCE_H
#define NIMBUS_DAEMON_INSTANCE_H

#include <stdbool.h>

#include "lib/err.h"

#define INSTANCE_NAME_MAX 63
/* A container's command (launch -- COMMAND) as a JSON array of strings. */
#define INSTANCE_COMMAND_MAX 4096

enum instance_kind { KIND_CONTAINER, KIND_VM };
enum instance_state { STATE_STOPPED, STATE_RUNNING };

struct instance {
	char name[INSTANCE_NAME_MAX + 1];
	enum instance_kind kind;
	char image[INSTANCE_NAME_MAX + 1];
	enum instance_state state;
	long long pid;          /* supervisor pid while running, else 0 */
	long long pid_start;    /* its start time in clock ticks since boot */
	long long created_at;   /* Unix seconds */
	long long started_at;   /* Unix seconds of the last start, or 0 */
	bool paused;            /* running but frozen (pause); cleared by every start */
	int cpus;               /* `config set`: vCPUs / CPU limit, 0 = the default */
	long long memory_mib;   /* `config set`: RAM / memory limit in MiB, 0 = the default */
	char command[INSTANCE_COMMAND_MAX];   /* a container's command, or "": the image's */
	char project[INSTANCE_NAME_MAX + 1];   /* the project that owns it (auth.h) */
	bool terminal;          /* a container whose console is a pty (launch --terminal) */
	/* Host-unique, while name is unique only within the project: what the
	 * instance's directory, processes, cgroup, NIC and rows are named by.
	 * The name when no other instance has that key (every instance from
	 * before per-project names has its name), else the name (cut to 56)
	 * and "-" and 6 random hex digits.  Never taken from a request. */
	char key[INSTANCE_NAME_MAX + 1];
};

/* What an instance reserves (quotas, placement, metering): its cpus and
 * memory, or the VMM's defaults when they are 0. */
#define INSTANCE_CPUS_DEFAULT 1
#define INSTANCE_CPUS_MAX 8
#define INSTANCE_MEMORY_MIB_DEFAULT 256
#define INSTANCE_MEMORY_MIB_MIN 16
#define INSTANCE_MEMORY_MIB_MAX (64 * 1024)

static inline int instance_cpus(const struct instance *in)
{
	return in->cpus > 0 ? in->cpus : INSTANCE_CPUS_DEFAULT;
}

static inline long long instance_memory(const struct instance *in)
{
	return (in->memory_mib > 0 ? in->memory_mib : INSTANCE_MEMORY_MIB_DEFAULT) << 20;
}

/* The same in SQL, for sums over the instances table. */
#define SQL_INSTANCE_CPUS "(CASE WHEN cpus > 0 THEN cpus ELSE 1 END)"
#define SQL_INSTANCE_MEMORY "((CASE WHEN memory_mib > 0 THEN memory_mib ELSE 256 END) * 1048576)"
/* The bytes of the VMs' own disks (disks.h): every one, or those of the
 * instances of project ?1; they count for disk as volumes do. */
#define SQL_INSTANCE_DISKS "(SELECT coalesce(sum(size_mib), 0) * 1048576 FROM instance_disks)"
#define SQL_INSTANCE_DISKS_OF_PROJECT "(SELECT coalesce(sum(d.size_mib), 0) * 1048576 FROM " \
	"instance_disks d JOIN instances i ON i.host_key = d.instance WHERE i.project = ?1)"

/* Instance and image names: 1-63 of [a-z0-9-], starting with a letter or
 * digit.  Anything else (a `/`, `..`, upper case, spaces) is refused with a
 * sentence saying which rule the name breaks. */
int name_check(const char *what, const char *name, struct err *e);

const char *kind_str(enum instance_kind k);
int kind_parse(const char *s, enum instance_kind *out);
const char *state_str(enum instance_state s);
int state_parse(const char *s, enum instance_state *out);

#endif
