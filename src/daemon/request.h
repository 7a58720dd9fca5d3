/*
 * Request bodies of the API, parsed strictly: a body is one JSON object
 * whose fields are all known and of the right type, else one error naming
 * the field and the rule ("field \"start\": expected true or false").  The
 * same parsers serve the daemon and the fuzz/unit tests.
 */
#ifndef NIMBUS_DAEMON_REQUEST_H
#define NIMBUS_DAEMON_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/disks.h"
#include "daemon/instance.h"
#include "lib/err.h"

/* The largest body any request may carry; more is refused (413). */
#define REQUEST_BODY_MAX 65536

/* POST /1.0/instances: {"name", "image", "type"?, "start"?, "project"?,
 * "cpus"?, "memory"?, "network"?} (memory: bytes, or a size such as "512M"; whole MiB) */
struct create_req {
	char name[INSTANCE_NAME_MAX + 1];
	char image[INSTANCE_NAME_MAX + 1];
	bool has_kind;             /* "type" given; else the image's kind */
	enum instance_kind kind;
	bool start;                /* default true (launch) */
	char command[INSTANCE_COMMAND_MAX];   /* "command": a JSON array of strings, or "" */
	char project[INSTANCE_NAME_MAX + 1];   /* "" : the caller's project */
	int cpus;                  /* 0: the default */
	long long memory_mib;      /* 0: the default */
	char network[INSTANCE_NAME_MAX + 1];   /* "" : none; eth0's */
	/* "network" may be an array of up to 4 names (network.h's NICS_MAX):
	 * the first is network, the others eth1... */
	char more_networks[3][INSTANCE_NAME_MAX + 1];
	int nmore_networks;
	char profile[INSTANCE_NAME_MAX + 1];   /* "profile"?: "" : the default profile (profile.h) */
	bool terminal;             /* "terminal"?: a container's console on a pty */
	struct disk disks[DISKS_MAX];   /* not a request's: its profile's disks (api_launch) */
	size_t ndisks;
};

/* POST /1.0/instances/NAME/stop: {"timeout"?, "force"?}; an empty body is {} */
struct stop_req {
	int timeout_s;             /* default STOP_TIMEOUT_DEFAULT */
	bool force;
};

#define STOP_TIMEOUT_DEFAULT 10
#define STOP_TIMEOUT_MAX 3600

/* POST /1.0/instances/NAME/exec: {"command": [ARG...], "timeout"?, "tty"?} */
#define EXEC_ARGS_MAX 64
#define EXEC_ARG_MAX 4096
#define EXEC_TIMEOUT_DEFAULT 60

struct exec_req {
	char *argv[EXEC_ARGS_MAX + 1];   /* NULL-terminated; free with request_exec_free */
	int timeout_s;
	bool timeout_set;          /* given: an interactive exec has none otherwise */
	/* "tty"?: {"rows", "cols"} (1-1000 each): on a terminal of that size;
	 * only with Upgrade: nimbus-exec (exec_frame.h).  0: no terminal. */
	unsigned tty_rows, tty_cols;
};

int request_parse_exec(const char *body, size_t len, struct exec_req *out, struct err *e);
void request_exec_free(struct exec_req *r);

/* PATCH /1.0/instances/NAME: {"cpus"?: N, "memory"?: "512M" | BYTES}; 0 or
 * "0" puts the default back.  Memory is whole MiB, at least 16 MiB. */
#define CONFIG_CPUS_MAX 64
#define CONFIG_MEMORY_MIN_MIB 16
#define CONFIG_MEMORY_MAX_MIB (1024LL * 1024)
struct config_req {
	bool has_cpus, has_memory;
	int cpus;
	long long memory_mib;
	struct disk disks[DISKS_MAX];   /* "disks"?: {"D": "SIZE" | null} (disks.h) */
	size_t ndisks;
};

int request_parse_config(const char *body, size_t len, struct config_req *out, struct err *e);
/* "512M", "1G", "2048" (MiB), "0" -> MiB; -EINVAL with e naming what. */
int request_parse_size_mib(const char *what, const char *s, long long *mib, struct err *e);

/* POST /1.0/images: {"source": "/abs/path", "name"} */
struct image_import_req {
	char source[4096];
	char name[INSTANCE_NAME_MAX + 1];
};
int request_parse_image_import(const char *body, size_t len, struct image_import_req *out,
			       struct err *e);

int request_parse_create(const char *body, size_t len, struct create_req *out, struct err *e);
int request_parse_stop(const char *body, size_t len, struct stop_req *out, struct err *e);
/* A body that must be empty or {} (start). */
int request_parse_empty(const char *body, size_t len, struct err *e);
/* A console's window size: {"rows": 1 to 1000, "cols": 1 to 1000}. */
int request_parse_window(const char *body, size_t len, unsigned *rows, unsigned *cols,
			 struct err *e);

/* The building blocks, for the parsers in other files (request_cloud.c):
 * the body as one JSON object (NULL when empty), and every field known
 * and given once. */
struct cJSON;
int request_object(const char *body, size_t len, struct cJSON **out, struct err *e);
int request_known_fields(const struct cJSON *j, const char *const *names, struct err *e);

#endif
