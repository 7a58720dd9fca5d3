/*
 * Volumes (issue 9): storage a project keeps apart from its instances, in
 * the daemon's pool STATE/volumes.  Two types:
 *
 *   block  a qcow2 file (made, resized and copied with Debian's qemu-img),
 *          a virtio-blk disk of a VM (vdX, serial = the volume's name);
 *   dir    a directory, bind-mounted into a container at /volumes/NAME.
 *
 * Containers get directories rather than a filesystem inside a qcow2:
 * mounting one on the host needs qemu-nbd and the nbd module, and would
 * have the host kernel parse a filesystem the tenant wrote -- an attack
 * surface a directory does not have.  A dir volume's size counts against
 * the disk quota but is not enforced as a filesystem limit.
 *
 * A volume's name is unique within its project; on the host it is its
 * host key (host_key.h): STATE/volumes/KEY[.qcow2] and its metering rows.
 * The functions below that change a volume take its key; volume_get
 * resolves a name in a project.
 *
 * A volume is attached to at most one instance and reaches it at its next
 * start, or at once for a block volume and a running VM (volume_live.h);
 * a volume in use by a running instance cannot be resized or deleted, nor
 * detached unless the VM can give it back (volume_live.h).  A snapshot is a
 * read-only volume of the same type, a consistent copy taken while no
 * running instance uses the volume (qemu-img convert for a block volume,
 * cp -a for a directory); clone makes a new writable volume from a volume
 * or a snapshot.  Every function expects the service's lock held.
 */
#ifndef NIMBUS_DAEMON_VOLUME_H
#define NIMBUS_DAEMON_VOLUME_H

#include <stdbool.h>
#include <stddef.h>

#include "daemon/db.h"
#include "daemon/instance.h"

#define VOLUME_SIZE_MIN (1LL << 20)
#define VOLUME_SIZE_MAX (16LL << 40)

struct volume {
	char name[INSTANCE_NAME_MAX + 1];      /* unique in its project */
	char key[INSTANCE_NAME_MAX + 1];       /* unique on the host (host_key.h) */
	char project[INSTANCE_NAME_MAX + 1];
	bool dir;                  /* type dir (else block) */
	long long size;            /* bytes */
	char snapshot_of[INSTANCE_NAME_MAX + 1];   /* "" unless a snapshot */
	char attached_to[INSTANCE_NAME_MAX + 1];   /* its host key (instance.h); "" when detached */
	char attached_name[INSTANCE_NAME_MAX + 1]; /* and its name, for people */
	long long created_at;
};

struct placement;

struct volume_ctx {
	const char *state_dir;
	const char *qemu_img;      /* /usr/bin/qemu-img */
	const struct placement *place;   /* the host's room for disk (placement.h) */
};

/* Fills v->key. */
int volume_create(struct db *db, const struct volume_ctx *c, struct volume *v, struct err *e);
/* The volume name of project (NULL: the one of that name on the host,
 * host_key_find's 409 when several projects have one). */
int volume_get(struct db *db, const char *name, const char *project, struct volume *out,
	       struct err *e);
int volume_list(struct db *db, const char *project, struct volume **out, size_t *n,
		struct err *e);
int volume_delete(struct db *db, const struct volume_ctx *c, const char *key, struct err *e);
/* instance: a name in the volume's project; attach takes effect at its
 * next start. */
int volume_attach(struct db *db, const char *key, const char *instance, struct err *e);
/* ejected: the running VM gave the disk back already (volume_live.h), so
 * its running is no reason to refuse. */
int volume_detach(struct db *db, const char *key, bool ejected, struct err *e);
int volume_resize(struct db *db, const struct volume_ctx *c, const char *key, long long size,
		  struct err *e);
/* A snapshot (read-only) or a clone (writable) of the volume key, named to
 * in its project. */
int volume_copy(struct db *db, const struct volume_ctx *c, const char *key, const char *to,
		bool snapshot, struct err *e);
/* The file or directory of a volume. */
void volume_path(const struct volume_ctx *c, const struct volume *v, char *buf, size_t len);
/* Writes inst_dir/volumes for the drivers: "block PATH NAME" or
 * "dir PATH NAME" per attached volume (none: the file is removed). */
int volume_prepare(struct db *db, const struct volume_ctx *c, const char *instance,
		   const char *inst_dir, struct err *e);

#endif
