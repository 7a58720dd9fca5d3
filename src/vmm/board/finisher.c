/*
 * SiFive test finisher: decodes the status written at offset 0 and reports
 * it.  See finisher.h; the values are those QEMU's virt board advertises
 * in its syscon-poweroff / syscon-reboot FDT nodes.
 */
#include "vmm/board/finisher.h"

static uint64_t finisher_read(void *dev, uint64_t offset, unsigned size)
{
	(void)dev, (void)offset, (void)size;
	return 0;
}

static void finisher_write(void *dev, uint64_t offset, unsigned size, uint64_t value)
{
	struct finisher *t = dev;
	/* A 32-bit register at offset 0; a 16-bit store carries no code. */
	if (offset != 0 || size < 2 || !t->notify)
		return;
	uint32_t v = (uint32_t)value;
	switch (v & 0xffff) {
	case FINISHER_PASS_VALUE:
		t->notify(t->ctx, FINISHER_PASS, 0);
		break;
	case FINISHER_FAIL_VALUE:
		t->notify(t->ctx, FINISHER_FAIL, (int)(v >> 16));
		break;
	case FINISHER_RESET_VALUE:
		t->notify(t->ctx, FINISHER_RESET, 0);
		break;
	default:
		break;
	}
}

const struct mmio_ops finisher_ops = {
	.read = finisher_read,
	.write = finisher_write,
};

void finisher_init(struct finisher *t,
		      void (*notify)(void *ctx, enum finisher_event ev, int code),
		      void *ctx)
{
	t->notify = notify;
	t->ctx = ctx;
}

void finisher_reset(struct finisher *t)
{
	(void)t;
}

/* ---- the device type (device.h) ---- */

static void dev_reset(void *obj)
{
	finisher_reset(obj);
}

const struct device_ops finisher_device = {
	.name = "sifive-test",
	.reset = dev_reset,
	.save = device_stateless_save,
	.load = device_stateless_load,
};
