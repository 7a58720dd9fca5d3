/* See vm_args.h. */
#include "vmm/vm_args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/board/virt.h"
#include "vmm/net/opts.h"

#define VIRTIO_BLK_ID_BYTES 20   /* virtio 1.2, 5.2.6: GET_ID returns at most 20 bytes */

int vm_slot_parse(const char *flag, const char *opt, struct vm_slot *out, struct err *err)
{
	if (strncmp(opt, "slot=", 5))
		return -ENOENT;
	const char *v = opt + 5;
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (*v < '0' || *v > '9' || *end || errno)
		return err_set(err, -EINVAL, "%s: %s: not a slot number (0 to %d)", flag, opt,
			       VIRT_VIRTIO_COUNT - 1);
	if (n >= VIRT_VIRTIO_COUNT)
		return err_set(err, -EINVAL, "%s: %s: out of range: the board has virtio-mmio "
			       "slots 0 to %d", flag, opt, VIRT_VIRTIO_COUNT - 1);
	*out = (struct vm_slot){ .set = true, .n = (unsigned)n };
	return 0;
}

int vm_slot_take(const char *flag, char *spec, struct vm_slot *out, struct err *err)
{
	char *w = spec;   /* where the next kept element goes */
	for (char *p = spec; *p;) {
		char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char save = p[len];
		p[len] = 0;
		int rc = vm_slot_parse(flag, p, out, err);
		p[len] = save;
		if (rc && rc != -ENOENT)
			return rc;
		if (rc == -ENOENT) {
			if (w != spec)
				*w++ = ',';
			memmove(w, p, len);
			w += len;
		}
		p += len + (comma ? 1 : 0);
	}
	*w = 0;
	return 0;
}

int vm_disk_parse(char *spec, struct vm_disk *out, struct err *err)
{
	memset(out, 0, sizeof(*out));
	char *save = NULL;
	char *path = strtok_r(spec, ",", &save);
	if (!path || !*path || spec[0] == ',')
		return err_set(err, -EINVAL, "--disk: missing the image path (--disk PATH[,ro][,format=raw|qcow2])");
	out->path = path;
	for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
		if (!strcmp(opt, "ro") || !strcmp(opt, "readonly")) {
			out->readonly = true;
		} else if (!strncmp(opt, "format=", 7)) {
			if (strcmp(opt + 7, "raw") && strcmp(opt + 7, "qcow2"))
				return err_set(err, -EINVAL, "--disk %s: %s: format must be raw or qcow2",
					       path, opt);
			out->format = opt + 7;
		} else if (!strncmp(opt, "serial=", 7)) {
			if (strlen(opt + 7) > VIRTIO_BLK_ID_BYTES)
				return err_set(err, -EINVAL, "--disk %s: %s: at most %d characters",
					       path, opt, VIRTIO_BLK_ID_BYTES);
			out->serial = opt + 7;
		} else if (!strcmp(opt, "backing=confined")) {
			out->confine_backing = true;
		} else if (!strcmp(opt, "backing=any")) {
			out->confine_backing = false;
		} else if (!strncmp(opt, "backing=", 8)) {
			return err_set(err, -EINVAL, "--disk %s: %s: must be backing=confined or "
				       "backing=any", path, opt);
		} else if (!strncmp(opt, "slot=", 5)) {
			char flag[64];
			snprintf(flag, sizeof flag, "--disk %.50s", path);
			int rc = vm_slot_parse(flag, opt, &out->slot, err);
			if (rc)
				return rc;
		} else if (!strncmp(opt, "bw=", 3) || !strncmp(opt, "ops=", 4)) {
			char flag[64];
			snprintf(flag, sizeof flag, "--disk %.50s", path);
			int rc = rate_limit_parse_one(flag, opt, &out->limit, err);
			if (rc)
				return rc;
		} else {
			return err_set(err, -EINVAL, "--disk %s: unknown option '%s' "
				       "(known: ro, format=raw|qcow2, serial=ID, slot=N, backing=confined|any, "
				       "bw=RATE[:BURST], ops=RATE[:BURST])", path, opt);
		}
	}
	return 0;
}

int vm_append_check(const char *append, struct err *err)
{
	size_t n = append ? strlen(append) : 0;
	if (n > VM_APPEND_MAX)
		return err_set(err, -E2BIG, "--append: %zu bytes: longer than the riscv64 kernel's "
			       "command-line limit of %d bytes (it would cut the rest silently)",
			       n, VM_APPEND_MAX);
	return 0;
}

int vm_net_slots_parse(const char *spec, struct vm_config *cfg, struct err *err)
{
	char *end;
	unsigned long n = strtoul(spec, &end, 10);
	if (spec[0] < '0' || spec[0] > '9' || n > VM_MAX_NETS || (*end && *end != ','))
		return err_set(err, -EINVAL, "--net-slots %.64s: expected N[,mac=MAC], N from 0 to %d",
			       spec, VM_MAX_NETS);
	uint8_t mac[6];
	bool has_mac = false;
	if (*end) {
		const char *why = NULL;
		if (strncmp(end, ",mac=", 5) || net_mac_parse(end + 5, mac, &why) < 0)
			return err_set(err, -EINVAL, "--net-slots %.64s: %s", spec,
				       why ? why : "expected N[,mac=MAC]");
		uint32_t tail = (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];
		if (n && tail + (n - 1) > 0xffffffu)
			return err_set(err, -EINVAL, "--net-slots %.64s: the MACs of %lu slots would "
				       "wrap past ff:ff:ff", spec, n);
		has_mac = true;
	}
	cfg->net_slots = (unsigned)n;
	for (unsigned i = 0; i < n; i++) {
		cfg->net_slot_mac[i].has_mac = has_mac;
		if (!has_mac)
			continue;
		uint32_t t = ((uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5]) + i;
		memcpy(cfg->net_slot_mac[i].mac, mac, 3);
		cfg->net_slot_mac[i].mac[3] = (uint8_t)(t >> 16);
		cfg->net_slot_mac[i].mac[4] = (uint8_t)(t >> 8);
		cfg->net_slot_mac[i].mac[5] = (uint8_t)t;
	}
	return 0;
}

int vm_slot_disk_parse(char *spec, struct vm_config *cfg, struct err *err)
{
	char *end;
	unsigned long n = strtoul(spec, &end, 10);
	if (spec[0] < '0' || spec[0] > '9' || *end != ':' || n >= VM_MAX_DISK_SLOTS)
		return err_set(err, -EINVAL, "--slot-disk %.64s: expected N:PATH[,serial=ID], N from "
			       "0 to %d", spec, VM_MAX_DISK_SLOTS - 1);
	if (cfg->slot_disks[n].path)
		return err_set(err, -EINVAL, "--slot-disk %lu: given twice", n);
	struct vm_disk d = {0};
	struct err e = {0};
	if (vm_disk_parse(end + 1, &d, &e) < 0)
		return err_set(err, -EINVAL, "--slot-disk %lu: %s", n, e.msg);
	if (d.readonly || d.slot.set || d.ephemeral || (d.format && strcmp(d.format, "qcow2")))
		return err_set(err, -EINVAL, "--slot-disk %lu:%.64s: a hot-plug slot holds a writable "
			       "qcow2 image (no ro, slot= or format=raw)", n, d.path);
	cfg->slot_disks[n] = d;
	return 0;
}

int vm_slot_nic_parse(const char *spec, struct vm_config *cfg, struct err *err)
{
	char *end;
	unsigned long n = strtoul(spec, &end, 10);
	if (spec[0] < '0' || spec[0] > '9' || *end != ':' || n >= VM_MAX_NETS)
		return err_set(err, -EINVAL, "--slot-nic %.32s: expected N:IFNAME, N from 0 to %d",
			       spec, VM_MAX_NETS - 1);
	size_t len = strlen(end + 1);
	if (len == 0 || len > 15 || strchr(end + 1, '/') || strchr(end + 1, ','))
		return err_set(err, -EINVAL, "--slot-nic %.32s: IFNAME: 1 to 15 characters, no / or ,",
			       spec);
	if (cfg->slot_taps[n])
		return err_set(err, -EINVAL, "--slot-nic %lu: given twice", n);
	cfg->slot_taps[n] = end + 1;
	return 0;
}
