/* See vm_virtio.h. */
#include "vmm/vm_virtio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "vmm/net/opts.h"
#include "vmm/virtio/balloon.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/net.h"
#include "vmm/virtio/block.h"
#include "vmm/virtio/console.h"
#include "vmm/virtio/io_hub.h"
#include "vmm/virtio/mmio.h"
#include "vmm/virtio/rng.h"
#include "vmm/virtio/named_port.h"
#include "vmm/guest_agent.h"

/* Takes dev; plugs it into slot n (chosen by place()). */
static int plug(struct vm_virtio *v, struct bus *bus, struct virtio_slot *slots, unsigned n,
		struct virtio_device *dev, const struct log_sink *log, struct err *err)
{
	dev->log = log;
	struct virtio_slot *s = &slots[n];
	struct virtio_mmio *t;
	int rc = virtio_mmio_create(bus, s->base, s->irq, dev, VIRTIO_MMIO_HUB, &t, err);
	if (rc)
		return rc;
	virtio_slot_plug(s, &virtio_mmio_ops, t, virtio_mmio_reset);
	v->transport[v->used++] = t;
	return 0;
}

/* The virtio devices of a config, in the order they are created. */
struct wanted {
	char label[80];            /* the option that asked for it, for messages */
	struct vm_slot slot;
	unsigned at;               /* the slot it gets */
};

static unsigned list_devices(const struct vm_config *cfg, struct wanted *w)
{
	unsigned n = 0;
	for (unsigned i = 0; i < cfg->ndisks; i++, n++) {
		snprintf(w[n].label, sizeof w[n].label, "--disk %.64s", cfg->disks[i].path);
		w[n].slot = cfg->disks[i].slot;
	}
	for (unsigned i = 0; i < cfg->disk_slots; i++, n++) {
		snprintf(w[n].label, sizeof w[n].label, "--disk-slots %u", cfg->disk_slots);
		w[n].slot = (struct vm_slot){ 0 };
	}
	for (unsigned i = 0; i < cfg->nnets; i++, n++) {
		snprintf(w[n].label, sizeof w[n].label, "--net %s",
			 cfg->nets[i].kind == NET_TAP ? "tap" : "user");
		w[n].slot = cfg->net_slot[i];
	}
	if (cfg->virtio_console) {
		snprintf(w[n].label, sizeof w[n].label, "--console virtio");
		w[n++].slot = cfg->console_slot;
	}
	if (cfg->rng) {
		snprintf(w[n].label, sizeof w[n].label, "--rng");
		w[n++].slot = cfg->rng_slot;
	}
	if (cfg->balloon) {
		snprintf(w[n].label, sizeof w[n].label, "--balloon");
		w[n++].slot = cfg->balloon_slot;
	}
	if (cfg->agent) {
		snprintf(w[n].label, sizeof w[n].label, "--agent");
		w[n++].slot = cfg->agent_slot;
	}
	return n;
}

/*
 * Chooses every device's slot before any is built: those with slot= first
 * (a slot asked for twice, or past the board's last, is refused naming
 * both), then the rest from the highest free slot down, in list order, as
 * QEMU fills its virtio-mmio buses when no bus= is given.
 */
static int place(struct wanted *w, unsigned n, struct err *err)
{
	int owner[VIRT_VIRTIO_COUNT];
	for (unsigned s = 0; s < VIRT_VIRTIO_COUNT; s++)
		owner[s] = -1;
	for (unsigned i = 0; i < n; i++) {
		if (!w[i].slot.set)
			continue;
		unsigned s = w[i].slot.n;
		if (s >= VIRT_VIRTIO_COUNT)
			return err_set(err, -EINVAL, "%s: slot=%u: out of range: the board has "
				       "virtio-mmio slots 0 to %d", w[i].label, s, VIRT_VIRTIO_COUNT - 1);
		if (owner[s] >= 0)
			return err_set(err, -EBUSY, "%s: slot=%u: taken by %s", w[i].label, s,
				       w[owner[s]].label);
		owner[s] = (int)i;
		w[i].at = s;
	}
	int next = VIRT_VIRTIO_COUNT - 1;
	for (unsigned i = 0; i < n; i++) {
		if (w[i].slot.set)
			continue;
		while (next >= 0 && owner[next] >= 0)
			next--;
		if (next < 0)
			return err_set(err, -ENOSPC, "%s: no free virtio-mmio slot (the board has %d; "
				       "%u virtio devices asked for)", w[i].label, VIRT_VIRTIO_COUNT, n);
		owner[next] = (int)i;
		w[i].at = (unsigned)next;
	}
	return 0;
}

/* Refuses to treat a qcow2 image as raw unless the user said so. */
static int check_format(const struct vm_disk *d, enum block_format *fmt, struct err *err)
{
	if (d->format) {
		if (block_format_parse(d->format, fmt) < 0)
			return err_set(err, -EINVAL, "--disk %s: format=%s: not raw or qcow2",
				       d->path, d->format);
		return 0;
	}
	*fmt = BLOCK_FORMAT_RAW;
	int fd = open(d->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, -errno, "--disk %s: %s", d->path, strerror(errno));
	unsigned char head[512];
	ssize_t n = pread(fd, head, sizeof head, 0);
	close(fd);
	if (n > 0 && block_qcow2_probe(head, (size_t)n))
		return err_set(err, -EINVAL, "--disk %s: looks like a qcow2 image: add "
			       "format=qcow2 (or format=raw to use the bytes as they are)", d->path);
	return 0;
}

static int attach_disk(struct vm_virtio *v, struct bus *bus, struct virtio_slot *slots,
		       unsigned at, const struct vm_disk *d, const struct log_sink *log,
		       struct err *err)
{
	struct block_opts o = { .readonly = d->readonly || d->ephemeral,
				.confine_backing = d->confine_backing };
	int rc = check_format(d, &o.format, err);
	if (rc)
		return rc;
	struct block_backend *be = d->backend;   /* an incoming migration's layer, if any */
	if (be) {
		be->log = log;
	} else {
		if ((rc = block_backend_open(d->path, &o, &be, err)))
			return rc;
		be->log = log;
		if (d->ephemeral && (rc = block_snapshot_wrap(be, d->readonly, &be, err)))   /* takes be */
			return rc;
	}
	struct virtio_device *dev;
	if ((rc = virtio_blk_create(be, d->serial, &dev, err)))
		return rc;
	if (rate_limit_set(&d->limit))
		virtio_blk_set_rate_limit(dev, &d->limit);
	if ((rc = plug(v, bus, slots, at, dev, log, err)))
		return rc;
	v->disk[v->ndisks++] = dev;
	return 0;
}

int vm_virtio_attach(struct vm_virtio *v, struct bus *bus, struct virtio_slot *slots,
		     const struct vm_config *cfg, const struct log_sink *log, struct err *err)
{
	memset(v, 0, sizeof(*v));
	struct virtio_device *dev;
	struct wanted w[VM_MAX_DISKS + VM_MAX_NETS + 4 + VIRT_VIRTIO_COUNT];
	if (cfg->disk_slots > VIRT_VIRTIO_COUNT)
		return err_set(err, -EINVAL, "--disk-slots %u: the board has %d virtio-mmio slots",
			       cfg->disk_slots, VIRT_VIRTIO_COUNT);
	unsigned k = 0, n = list_devices(cfg, w);
	int rc = place(w, n, err);
	if (rc)
		return rc;
	for (unsigned i = 0; i < cfg->ndisks; i++)
		if ((rc = attach_disk(v, bus, slots, w[k++].at, &cfg->disks[i], log, err)))
			goto fail;
	for (unsigned i = 0; i < cfg->disk_slots; i++) {
		struct block_backend *be;
		if ((rc = block_empty_open(&be, err)) ||
		    (rc = virtio_blk_create(be, NULL, &dev, err)) ||
		    (rc = plug(v, bus, slots, w[k++].at, dev, log, err)))
			goto fail;
		v->slot[v->nslots++] = dev;
	}
	for (unsigned i = 0; i < cfg->nnets; i++) {
		const struct net_opts *no = &cfg->nets[i];
		uint8_t mac[6];
		struct net_backend *be;
		if (no->has_mac) {
			memcpy(mac, no->mac, 6);
		} else {
			net_default_mac(i, mac);
			/* Behind a private NAT the fixed default is harmless, but VMs
			 * sharing a bridge must not all answer to one MAC. */
			if (no->kind == NET_TAP && getrandom(mac + 3, 3, 0) != 3) {
				rc = err_set(err, -EIO, "--net tap: no random MAC: %s",
					     strerror(errno));
				goto fail;
			}
		}
		if ((rc = net_backend_open(no, &be, err)))
			goto fail;
		be->log = log;
		if ((rc = virtio_net_create(be, mac, &dev, err)))   /* takes be */
			goto fail;
		if (rate_limit_set(&cfg->net_limit[i]))
			virtio_net_set_rate_limit(dev, &cfg->net_limit[i]);
		if ((rc = plug(v, bus, slots, w[k++].at, dev, log, err)))
			goto fail;
		v->net[v->nnets++] = dev;
	}
	if (cfg->virtio_console) {
		if ((rc = virtio_console_create(cfg->console, &dev, err)) ||
		    (rc = plug(v, bus, slots, w[k++].at, dev, log, err)))
			goto fail;
	}
	if (cfg->rng) {
		if ((rc = virtio_rng_create(&dev, err)) ||
		    (rc = plug(v, bus, slots, w[k++].at, dev, log, err)))
			goto fail;
	}
	if (cfg->balloon) {
		if ((rc = virtio_balloon_create(cfg->balloon_flags, &dev, err)) ||
		    (rc = plug(v, bus, slots, w[k++].at, dev, log, err)))
			goto fail;
		v->balloon = dev;
	}
	if (cfg->agent) {
		if ((rc = virtio_named_port_create(AGENT_PORT_NAME, guest_agent_chardev(cfg->agent),
						   guest_agent_port_open, &dev, err)) ||
		    (rc = plug(v, bus, slots, w[k++].at, dev, log, err)))
			goto fail;
	}
	/* One I/O thread for them all; devices that want their own get it at
	 * their first kick (io_hub.h).  Started now, before any sandbox. */
	if (v->used && (rc = io_hub_start(v->transport, v->used, &v->hub, err)))
		goto fail;
	return 0;
fail:
	vm_virtio_detach(v);
	for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++)
		virtio_slot_plug(&slots[i], NULL, NULL, NULL);
	return rc;
}

void vm_virtio_detach(struct vm_virtio *v)
{
	io_hub_stop(v->hub);   /* first: it may be starting a device's thread */
	for (unsigned i = 0; i < v->used; i++)
		virtio_mmio_destroy(v->transport[i]);
	memset(v, 0, sizeof(*v));
}
