/*
 * Lifecycle hooks (config.md "POSIX-platform Hooks", runtime.md
 * "Lifecycle").  Each hook runs with the container's state JSON on stdin,
 * its own args/env, and an optional timeout in seconds after which it is
 * killed.  Callers decide which failures are fatal: prestart, createRuntime,
 * createContainer and startContainer abort; poststart/poststop only warn.
 */
#ifndef NIMBUS_CTR_HOOKS_H
#define NIMBUS_CTR_HOOKS_H

#include "ctr/config.h"
#include "lib/err.h"

const char *hook_kind_name(int kind);
int hooks_run(const struct oci_config *c, int kind, const char *state_json, struct err *e);

#endif
