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
	char project[INSTANCE_NAME_MAX + 1];   /* the project that owns it (auth.h) */
	int cpus;               /* vCPUs asked for at launch (a VM's --cpus) */
	long long memory;       /* bytes asked for at launch (a VM's --mem) */
};

#define INSTANCE_CPUS_DEFAULT 1
#define INSTANCE_CPUS_MAX 8
#define INSTANCE_MEMORY_DEFAULT (256LL << 20)
#define INSTANCE_MEMORY_MIN (16LL << 20)
#define INSTANCE_MEMORY_MAX (64LL << 30)

/* Instance and image names: 1-63 of [a-z0-9-], starting with a letter or
 * digit.  Anything else (a `/`, `..`, upper case, spaces) is refused with a
 * sentence saying which rule the name breaks. */
int name_check(const char *what, const char *name, struct err *e);

const char *kind_str(enum instance_kind k);
int kind_parse(const char *s, enum instance_kind *out);
const char *state_str(enum instance_state s);
int state_parse(const char *s, enum instance_state *out);

#endif
