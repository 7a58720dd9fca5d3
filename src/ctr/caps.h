/*
 * Capabilities (capabilities(7), config.md "process.capabilities").  Applied
 * in two steps around the uid switch: caps_drop_bounding() while we still
 * hold CAP_SETPCAP, then, after setresuid with PR_SET_KEEPCAPS,
 * caps_set() installs effective/permitted/inheritable and raises ambient.
 * Raw capget/capset/prctl so no allocation happens in the child.
 */
#ifndef NIMBUS_CTR_CAPS_H
#define NIMBUS_CTR_CAPS_H

#include "ctr/config.h"
#include "lib/err.h"

int caps_last_cap(void);
int caps_drop_bounding(const struct oci_caps *c, struct err *e);
int caps_set(const struct oci_caps *c, struct err *e);

#endif
