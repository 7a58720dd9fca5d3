/*
 * nimbus-runtime command line: shared pieces.  Verbs and global flags follow
 * the OCI runtime command line as runc and crun implement it (the spec's
 * runtime.md operations plus the de-facto flags container engines pass).
 * Long options take one or two dashes and "--opt value" or "--opt=value".
 * Exit status: 0 success, 1 runtime failure, 2 bad usage or bad input
 * (for run/exec without --detach: the container process's status).
 */
#ifndef NIMBUS_CTR_CLI_H
#define NIMBUS_CTR_CLI_H

#include <stdbool.h>

#include "ctr/container.h"
#include "ctr/log.h"
#include "lib/err.h"

struct cli {
	struct ctr_ctx ctx;
	struct ctr_log log;
	const char *verb;
};

enum opt_kind { OPT_FLAG, OPT_STR, OPT_INT, OPT_LIST };

struct opt {
	const char *name;     /* long name without dashes */
	char shortc;          /* 0 if none */
	enum opt_kind kind;
	void *target;         /* bool*, const char**, int*, or struct strlist* */
};

struct strlist { const char *v[256]; int n; };

/* Parses options from argv[*i] on until the first positional argument (or
 * "--").  Returns 0, or 2 after printing a usage error.  --help prints
 * `help` and returns 3 (the caller exits 0). */
int cli_parse(struct cli *g, int argc, char **argv, int *i, const struct opt *opts,
	      const char *help);
/* Logs e and returns the exit status (2 for -EINVAL, 1 otherwise). */
int cli_fail(struct cli *g, const struct err *e);
int cli_usage(struct cli *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define VERB(name) int cmd_##name(struct cli *g, int argc, char **argv)
VERB(create); VERB(start); VERB(run); VERB(state); VERB(kill); VERB(delete);
VERB(exec); VERB(list); VERB(ps); VERB(pause); VERB(resume); VERB(features);
VERB(spec); VERB(events); VERB(checkpoint); VERB(restore); VERB(update);

#endif
