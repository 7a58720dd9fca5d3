/*
 * The images the daemon knows at start, before image import exists:
 *   bb       a container rootfs made from Debian's busybox-static (the
 *            busybox binary and a link per applet), built once into
 *            state_dir/images/bb/rootfs;
 *   default  the built default guest (a directory with Image and
 *            initramfs.cpio.gz), registered when it exists.
 */
#ifndef NIMBUS_DAEMON_IMAGES_H
#define NIMBUS_DAEMON_IMAGES_H

#include "daemon/db.h"
#include "lib/err.h"

/* Builds (if missing) and registers the built-in images.  guest_dir may be
 * NULL or missing: then there is no `default` image. */
int images_init(struct db *db, const char *state_dir, const char *guest_dir, struct err *e);

/* Makes a busybox rootfs in dir (which must not exist) from the busybox binary. */
int images_make_busybox_rootfs(const char *busybox, const char *dir, struct err *e);

#endif
