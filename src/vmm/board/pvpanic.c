/* pvpanic on MMIO: see pvpanic.h. */
#include "vmm/board/pvpanic.h"

static uint64_t pvpanic_read(void *dev, uint64_t offset, unsigned size)
{
	(void)dev, (void)size;
	return offset == 0 ? PVPANIC_PANICKED | PVPANIC_CRASH_LOADED : 0;
}

static void pvpanic_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct pvpanic *p = dev;
	(void)size;
	/* Only the supported bits count; anything else is ignored, as QEMU does. */
	unsigned ev = (unsigned)value & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	if (offset == 0 && ev && p->notify)
		p->notify(p->ctx, ev);
}

const struct mmio_ops pvpanic_ops = {
	.read = pvpanic_read,
	.write = pvpanic_write,
};

void pvpanic_init(struct pvpanic *p, void (*notify)(void *ctx, unsigned events), void *ctx)
{
	p->notify = notify;
	p->ctx = ctx;
}

/* ---- the device type (device.h) ---- */

const struct device_ops pvpanic_device = {
	.name = "pvpanic",
	.save = device_stateless_save,
	.load = device_stateless_load,
};
