/*
 * process.rlimits (config.md "POSIX process"): setrlimit for each entry.  A
 * hard limit above the current one needs CAP_SYS_RESOURCE; the error says so
 * because container engines' defaults (RLIMIT_NOFILE 1048576) hit it on hosts
 * that withhold that capability.
 */
#ifndef NIMBUS_CTR_RLIMITS_H
#define NIMBUS_CTR_RLIMITS_H

#include "ctr/config.h"
#include "lib/err.h"

int rlimits_apply(const struct oci_process *p, struct err *e);

#endif
