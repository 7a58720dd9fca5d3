/* A daemon container's OCI config.json (see ctr_config.c). */
#ifndef NIMBUS_DAEMON_CTR_CONFIG_H
#define NIMBUS_DAEMON_CTR_CONFIG_H

#include "daemon/instance.h"
#include "lib/err.h"

/* The config's JSON text (free with cJSON_free), or NULL with e set (out of
 * memory, or a User the image does not define).
 * image_config: an imported image's OCI image config (its Entrypoint, Cmd,
 * Env, WorkingDir and User, names resolved in rootfs: oci_user.h, are the
 * process's), or NULL.
 * netns: a network namespace to join (its network, network.h), or NULL for
 * a private one with only lo.
 * binds: nbinds pairs {host directory, path in the container} (volumes). */
char *ctr_config(const struct instance *in, const char *rootfs, const char *image_config,
		 const char *netns, const char *const (*binds)[2], int nbinds, struct err *e);

#endif
