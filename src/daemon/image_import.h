/*
 * Image import, the part that reads the untrusted file: it runs in a
 * helper process of its own (`nimbus image-import-helper`, started by the
 * daemon), so a hostile archive that trips libarchive takes down the helper,
 * not the daemon, and the helper may chdir freely.
 *
 * Container images: a docker-archive or oci-archive tarball (`podman save`
 * writes both) or an OCI image layout directory.  Each layer is checked
 * against its sha256 digest and unpacked once into
 * STATE/images/layers/sha256-HEX (content-addressed, shared by every image
 * that has it), with OCI whiteouts turned into overlayfs ones (a `.wh.NAME`
 * file becomes a 0/0 character device NAME; `.wh..wh..opq` makes its
 * directory opaque).  The image itself is STATE/images/oci/sha256-HEX (the
 * config's digest): `lower` (the overlayfs lowerdir, top layer first),
 * `layers` and the image's `config.json`.
 *
 * VM images: a raw or qcow2 disk image, copied (checked and hashed as it
 * goes) to STATE/images/disk/sha256-HEX/disk.{raw,qcow2}; instances get
 * qcow2 overlays on it.
 *
 * Progress goes to out as lines `progress PERCENT STAGE`; the last line is
 * `result {"kind", "digest", "path", "size"}`.  Errors are one sentence in e.
 */
#ifndef NIMBUS_DAEMON_IMAGE_IMPORT_H
#define NIMBUS_DAEMON_IMAGE_IMPORT_H

#include <stdio.h>

#include "lib/err.h"

int image_import_run(const char *source, const char *state_dir, FILE *out, struct err *e);

/* Whether s is "sha256:" and 64 lowercase hex digits (a digest safe to
 * put in a path). */
int image_digest_ok(const char *s);

#endif
