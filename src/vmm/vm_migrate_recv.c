/* The target's migration-stream parser (vm_migrate_recv.h). */
#include "vmm/vm_migrate_recv.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "vmm/board/virt.h"
#include "vmm/snap_stream.h"
#include "vmm/virtio/block.h"
#include "vmm/vm_migrate_wire.h"

static int recv_frame_hdr(int fd, uint8_t *type, uint32_t *len)
{
	uint8_t h[5];
	int rc = mig_recv_all(fd, h, 5);
	if (rc)
		return rc;
	*type = h[0];
	*len = mig_get32(h + 1);
	return 0;
}

/* ---- target: the disks (copy_storage) ---------------------------------- */

struct disk_sink {
	const struct vm_config *cfg;      /* NULL: this target takes no disks */
	struct block_backend *be[VM_MAX_DISKS];
	unsigned n;
	struct vm_incoming *out;          /* receives the ephemeral disks' layers */
};

/* 'B': opens this VM's own images to write the source's disks into. */
static int disks_open(struct disk_sink *ds, const uint8_t *p, uint32_t len, const char *uri,
		      struct err *err)
{
	uint32_t n = len >= 4 ? mig_get32(p) : 0;
	if (ds->n || len < 4 || n > VM_MAX_DISKS || len != 4 + 8 * n)
		return err_set(err, -EINVAL, "%s: corrupt migration stream (bad disk list)", uri);
	if (!ds->cfg || n != ds->cfg->ndisks)
		return err_set(err, -EINVAL, "%s: the VM comes with %u disks, this one has %u (--disk)",
			       uri, n, ds->cfg ? ds->cfg->ndisks : 0);
	for (unsigned i = 0; i < n; i++) {
		const struct vm_disk *d = &ds->cfg->disks[i];
		if (d->readonly)
			return err_set(err, -EINVAL, "--disk %s: the source sends its contents "
				       "(--copy-storage): it must be writable here, not ro", d->path);
		/* An --ephemeral disk takes the contents in its throwaway layer,
		 * its image untouched, and the VM runs on that layer. */
		struct block_opts o = { .confine_backing = d->confine_backing,
					.readonly = d->ephemeral };
		int rc;
		if (d->format && (rc = block_format_parse(d->format, &o.format)))
			return err_set(err, rc, "--disk %s: format=%s: not raw or qcow2", d->path,
				       d->format);
		if ((rc = block_backend_open(d->path, &o, &ds->be[i], err)))
			return rc;
		if (d->ephemeral && (rc = block_snapshot_wrap(ds->be[i], false, &ds->be[i], err)))
			return rc;   /* the base is closed */
		ds->n = i + 1;
		uint64_t want = mig_get64(p + 4 + 8 * i);
		if (ds->be[i]->size != want)
			return err_set(err, -EINVAL, "--disk %s: %llu bytes, the source's disk%u has "
				       "%llu (--copy-storage needs the same size)", d->path,
				       (unsigned long long)ds->be[i]->size, i,
				       (unsigned long long)want);
	}
	return 0;
}

/* 'D' and 'E': a chunk of disk i's data, or a range that reads as zeroes. */
static int disks_write(struct disk_sink *ds, uint8_t type, const uint8_t *p, uint32_t len,
		       const char *uri, struct err *err)
{
	uint32_t i = len >= MIG_DISK_HDR ? mig_get32(p) : UINT32_MAX;
	uint64_t off = len >= MIG_DISK_HDR ? mig_get64(p + 4) : 0;
	uint64_t n = type == 'D' ? len - (uint64_t)MIG_DISK_HDR : len == MIG_DISK_HDR + 8 ? mig_get64(p + MIG_DISK_HDR) : 1;
	if (i >= ds->n || (type == 'E' && len != MIG_DISK_HDR + 8) || off % 512 || n % 512 ||
	    off > ds->be[i]->size || n > ds->be[i]->size - off)
		return err_set(err, -EINVAL, "%s: corrupt migration stream (bad disk frame)", uri);
	struct block_backend *be = ds->be[i];
	int rc = 0;
	if (type == 'D') {
		struct iovec v = { (void *)(p + MIG_DISK_HDR), n };
		rc = be->ops->writev(be, off, &v, 1);
	} else if (!be->ops->write_zeroes || be->ops->write_zeroes(be, off, n, true)) {
		static const uint8_t zero[BLOCK_DIRTY_CHUNK];   /* read-only */
		for (uint64_t done = 0; !rc && done < n;) {
			struct iovec v = { (void *)zero, n - done < sizeof zero ? n - done : sizeof zero };
			rc = be->ops->writev(be, off + done, &v, 1);
			done += v.iov_len;
		}
	}
	if (rc)
		return err_set(err, rc, "--disk %s: cannot write: %s", ds->cfg->disks[i].path,
			       strerror(-rc));
	return 0;
}

/* Flushes and closes the images (vm_incoming_finish opens them again, as
 * the VM's); rc 0: only if all is on disk. */
static int disks_close(struct disk_sink *ds, int rc, struct err *err)
{
	for (unsigned i = 0; i < ds->n; i++) {
		int f = rc ? 0 : ds->be[i]->ops->flush(ds->be[i]);
		if (f)
			rc = err_set(err, f, "--disk %s: %s", ds->cfg->disks[i].path, strerror(-f));
		/* A throwaway layer cannot be opened again: the VM takes it as it is. */
		if (!rc && ds->cfg->disks[i].ephemeral && ds->out)
			ds->out->disk_layer[i] = ds->be[i];
		else
			block_backend_close(ds->be[i]);
	}
	ds->n = 0;
	return rc;
}

static int receive_stream(int fd, const char *uri, uint64_t ram_size, struct disk_sink *ds,
			  struct vm_incoming *out, struct err *err)
{
	int rc = 0;
	uint64_t npages = ram_size / MIG_PAGE;
	/* Large enough for a frame of pages, of disk data, and for the hashes. */
	size_t bufsize = npages * 8 > MIG_PAGES_PER_FRAME * MIG_REC ? npages * 8 : MIG_PAGES_PER_FRAME * MIG_REC;
	if (bufsize < MIG_DISK_FRAME_MAX)
		bufsize = MIG_DISK_FRAME_MAX;
	uint8_t *buf = malloc(bufsize);
	/* Pages written here: the others are still zero (for the 'H' check). */
	uint8_t *wrote = calloc(npages, 1);
	if (!buf || !wrote) {
		free(buf);
		free(wrote);
		return err_set(err, -ENOMEM, "out of memory");
	}
	for (;;) {
		uint8_t type;
		uint32_t len;
		if ((rc = recv_frame_hdr(fd, &type, &len)))
			break;
		uint8_t *payload = buf;
		if (type == 'S') {
			/* Every source sends harts and devices: an empty state is
			 * a corrupt stream, not a VM to start. */
			if (len == 0 || len > MIG_STATE_MAX) {
				rc = -EINVAL;
				break;
			}
			payload = out->state = malloc(len);
			if (!payload) {
				rc = -ENOMEM;
				break;
			}
		} else if ((type == 'P' && (len % MIG_REC || len > MIG_PAGES_PER_FRAME * MIG_REC)) ||
			   (type == 'Z' && (len % 8 || len > MIG_PAGES_PER_FRAME * 8)) ||
			   (type == 'H' && len != npages * 8) ||
			   ((type == 'B' || type == 'D' || type == 'E') && len > MIG_DISK_FRAME_MAX) ||
			   (type == 'Q' && len != 0) ||
			   !strchr("PZHBDEQ", type) || !type) {
			rc = -EINVAL;
			break;
		}
		uint8_t crcb[4];
		if ((rc = mig_recv_all(fd, payload, len)) || (rc = mig_recv_all(fd, crcb, 4)))
			break;
		uint8_t h[5] = { type };
		mig_put32(h + 1, len);
		if (snap_crc32(snap_crc32(0, h, 5), payload, len) != mig_get32(crcb)) {
			rc = -EBADMSG;
			break;
		}
		if (type == 'S') {
			out->state_len = len;
			free(buf);
			free(wrote);
			return 0;
		}
		if (type == 'Q') {   /* post-copy: the pages come after the state */
			out->postcopy = true;
			continue;
		}
		if (type == 'B' || type == 'D' || type == 'E') {
			rc = type == 'B' ? disks_open(ds, payload, len, uri, err)
					 : disks_write(ds, type, payload, len, uri, err);
			if (rc) {
				free(buf);
				free(wrote);
				return rc;
			}
			out->storage_copied = true;
			continue;
		}
		if (type == 'H') {
			uint64_t bad = 0, first = 0, zh = mig_zero_page_hash();
			for (uint64_t i = 0; i < npages; i++) {
				uint64_t have = wrote[i] ? mig_page_hash((uint8_t *)out->ram + i * MIG_PAGE) : zh;
				if (have != mig_get64(payload + i * 8) && !bad++)
					first = i;
			}
			if (bad) {
				free(buf);
				free(wrote);
				return err_set(err, -EIO, "%s: verify: %llu of %llu pages differ from "
					       "the source's (first: guest-physical 0x%llx)", uri,
					       (unsigned long long)bad, (unsigned long long)npages,
					       (unsigned long long)(VIRT_DRAM_BASE + first * MIG_PAGE));
			}
			continue;
		}
		for (uint32_t off = 0; off < len; off += type == 'P' ? MIG_REC : 8) {
			uint64_t pfn = mig_get64(payload + off);
			if (pfn >= npages) {
				rc = -EINVAL;
				break;
			}
			uint8_t *dst = (uint8_t *)out->ram + pfn * MIG_PAGE;
			wrote[pfn] = 1;
			if (type == 'P')
				memcpy(dst, payload + off + 8, MIG_PAGE);
			else
				memset(dst, 0, MIG_PAGE);
		}
		if (rc)
			break;
	}
	free(buf);
	free(wrote);
	if (rc == -EINVAL || rc == -EBADMSG)
		return err_set(err, rc, "%s: corrupt migration stream (%s)", uri,
			       rc == -EBADMSG ? "a frame fails its CRC check" : "bad frame");
	return err_set(err, rc, "%s: the stream broke off: %s", uri, strerror(-rc));
}

int vm_migrate_read_stream(int fd, const char *what, uint64_t ram_size, void *dest,
			   const struct vm_config *cfg, struct vm_incoming *out, struct err *err)
{
	const char *uri = what;
	uint8_t hdr[MIG_HEADER_BYTES];
	int rc;
	if ((rc = mig_recv_all(fd, hdr, sizeof hdr)))
		return err_set(err, rc, "%s: no migration stream: %s", uri, strerror(-rc));
	if (memcmp(hdr, MIG_MAGIC, 8))
		return err_set(err, -EINVAL, "%s: not a nimbus migration stream", uri);
	if (mig_get32(hdr + 8) != MIG_VERSION)
		return err_set(err, -EPROTONOSUPPORT, "%s: stream version %u, this nimbus reads %u",
			       uri, mig_get32(hdr + 8), MIG_VERSION);
	if (mig_get32(hdr + 12) != SNAP_ARCH_RISCV64)
		return err_set(err, -EINVAL, "%s: not a riscv64 VM", uri);
	if (mig_get64(hdr + 16) != ram_size)
		return err_set(err, -EINVAL, "%s: the VM has %llu MiB of RAM, this one %llu (--mem)",
			       uri, (unsigned long long)(mig_get64(hdr + 16) >> 20),
			       (unsigned long long)(ram_size >> 20));
	out->ram_size = ram_size;
	out->ram_is_vms = dest != NULL;
	out->ram = dest ? dest : mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (out->ram == MAP_FAILED) {
		out->ram = NULL;
		return err_set(err, -ENOMEM, "cannot map %llu MiB for the incoming RAM",
			       (unsigned long long)(ram_size >> 20));
	}
	struct disk_sink ds = { .cfg = cfg, .out = out };
	rc = receive_stream(fd, uri, ram_size, &ds, out, err);
	rc = disks_close(&ds, rc, err);
	out->storage_copied = !rc && out->storage_copied;
	return rc;
}

