/*
 * Goldfish RTC: wall-clock time with a guest-settable offset and one alarm
 * checked by polling.  See goldfish_rtc.h; the register semantics follow
 * the goldfish virtual hardware documentation and the behaviour Linux's
 * rtc-goldfish driver expects.
 */
#include <errno.h>
#include "vmm/board/goldfish_rtc.h"

#include <string.h>
#include <time.h>
#include "vmm/snap_stream.h"

static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static uint64_t now(const struct goldfish_rtc *r)
{
	return (uint64_t)(r->host_ns() + r->s.offset_ns);
}

static void update_irq(struct goldfish_rtc *r)
{
	uint8_t level = r->s.irq_pending && r->s.irq_enabled;
	if (level != r->s.irq_level) {
		r->s.irq_level = level;
		irq_set(&r->irq, level);
	}
}

/* Fires the alarm if it is due.  Returns ns until it, or -1 (none armed). */
static int64_t check_alarm(struct goldfish_rtc *r)
{
	if (!r->s.alarm_armed)
		return -1;
	uint64_t t = now(r);
	if (r->s.alarm_ns > t) {
		uint64_t left = r->s.alarm_ns - t;
		return left > INT64_MAX ? INT64_MAX : (int64_t)left;
	}
	r->s.alarm_armed = 0;
	r->s.irq_pending = 1;
	update_irq(r);
	return -1;
}

static uint64_t rtc_read(void *dev, uint64_t off, unsigned size)
{
	struct goldfish_rtc *r = dev;
	uint64_t v = 0;
	(void)size;
	pthread_mutex_lock(&r->lock);
	switch (off) {
	case GOLDFISH_RTC_TIME_LOW: {
		uint64_t t = now(r);
		r->s.time_high = (uint32_t)(t >> 32);
		v = (uint32_t)t;
		break;
	}
	case GOLDFISH_RTC_TIME_HIGH:
		v = r->s.time_high;
		break;
	case GOLDFISH_RTC_ALARM_LOW:
		v = (uint32_t)r->s.alarm_ns;
		break;
	case GOLDFISH_RTC_ALARM_HIGH:
		v = (uint32_t)(r->s.alarm_ns >> 32);
		break;
	case GOLDFISH_RTC_IRQ_ENABLED:
		v = r->s.irq_enabled;
		break;
	case GOLDFISH_RTC_ALARM_STATUS:
		check_alarm(r);
		v = r->s.alarm_armed;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&r->lock);
	return v;
}

static void set_time_half(struct goldfish_rtc *r, int high, uint32_t value)
{
	int64_t host = r->host_ns();
	uint64_t t = (uint64_t)(host + r->s.offset_ns);
	if (high)
		t = (t & 0xffffffffull) | ((uint64_t)value << 32);
	else
		t = (t & ~0xffffffffull) | value;
	r->s.offset_ns = (int64_t)(t - (uint64_t)host);
}

static void rtc_write(void *dev, uint64_t off, unsigned size, uint64_t value)
{
	struct goldfish_rtc *r = dev;
	uint32_t v = (uint32_t)value;
	int kick = 0;
	(void)size;
	pthread_mutex_lock(&r->lock);
	switch (off) {
	case GOLDFISH_RTC_TIME_LOW:
	case GOLDFISH_RTC_TIME_HIGH:
		set_time_half(r, off == GOLDFISH_RTC_TIME_HIGH, v);
		kick = r->s.alarm_armed;
		break;
	case GOLDFISH_RTC_ALARM_LOW:
		r->s.alarm_ns = (r->s.alarm_ns & ~0xffffffffull) | v;
		r->s.alarm_armed = 1;
		kick = check_alarm(r) >= 0;
		break;
	case GOLDFISH_RTC_ALARM_HIGH:
		r->s.alarm_ns = (r->s.alarm_ns & 0xffffffffull) | ((uint64_t)v << 32);
		break;
	case GOLDFISH_RTC_IRQ_ENABLED:
		r->s.irq_enabled = v & 1;
		break;
	case GOLDFISH_RTC_CLEAR_ALARM:
		r->s.alarm_armed = 0;
		break;
	case GOLDFISH_RTC_CLEAR_INTERRUPT:
		r->s.irq_pending = 0;
		break;
	default:
		break;
	}
	update_irq(r);
	pthread_mutex_unlock(&r->lock);
	if (kick && r->kick)
		r->kick(r->kick_ctx);
}

const struct mmio_ops goldfish_rtc_ops = {
	.read = rtc_read,
	.write = rtc_write,
};

int64_t goldfish_rtc_poll(struct goldfish_rtc *r)
{
	pthread_mutex_lock(&r->lock);
	/* Paused: a due alarm fires on resume, not into a still machine. */
	int64_t left = r->quiesced ? -1 : check_alarm(r);
	pthread_mutex_unlock(&r->lock);
	return left;
}

int goldfish_rtc_init(struct goldfish_rtc *r, const struct irq_line *irq,
		      void (*kick)(void *ctx), void *kick_ctx)
{
	memset(r, 0, sizeof(*r));
	int rc = pthread_mutex_init(&r->lock, NULL);
	if (rc)
		return -rc;
	r->irq = *irq;
	r->host_ns = realtime_ns;
	r->kick = kick;
	r->kick_ctx = kick_ctx;
	goldfish_rtc_reset(r);
	return 0;
}

void goldfish_rtc_destroy(struct goldfish_rtc *r)
{
	pthread_mutex_destroy(&r->lock);
}

void goldfish_rtc_reset(struct goldfish_rtc *r)
{
	pthread_mutex_lock(&r->lock);
	int64_t offset = r->s.offset_ns;
	memset(&r->s, 0, sizeof(r->s));
	r->s.offset_ns = offset;
	irq_set(&r->irq, 0);
	pthread_mutex_unlock(&r->lock);
}

/* ---- the device type (device.h) ---- */

/* Snapshot: the guest's offset from host wall time (so its clock keeps
 * following the host's, as QEMU's RTC does after a restore), the alarm and
 * the interrupt state. */
static int dev_save(void *obj, struct snap_out *o)
{
	struct goldfish_rtc *r = obj;
	pthread_mutex_lock(&r->lock);
	snap_put_u32(o, 1);
	snap_put_u64(o, (uint64_t)r->s.offset_ns);
	snap_put_u64(o, r->s.alarm_ns);
	snap_put_u32(o, r->s.time_high);
	snap_put_u8(o, r->s.alarm_armed);
	snap_put_u8(o, r->s.irq_enabled);
	snap_put_u8(o, r->s.irq_pending);
	snap_put_u8(o, r->s.irq_level);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

static int dev_load(void *obj, struct snap_in *in)
{
	struct goldfish_rtc *r = obj;
	struct goldfish_rtc_state s = {0};
	if (snap_get_u32(in) != 1)
		return -EINVAL;
	s.offset_ns = (int64_t)snap_get_u64(in);
	s.alarm_ns = snap_get_u64(in);
	s.time_high = snap_get_u32(in);
	s.alarm_armed = snap_get_u8(in) != 0;
	s.irq_enabled = snap_get_u8(in) != 0;
	s.irq_pending = snap_get_u8(in) != 0;
	s.irq_level = snap_get_u8(in) != 0;
	if (in->overrun)
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->s = s;
	irq_set(&r->irq, s.irq_level);
	pthread_mutex_unlock(&r->lock);
	if (r->kick)
		r->kick(r->kick_ctx);
	return 0;
}


static void dev_reset(void *obj)
{
	goldfish_rtc_reset(obj);
}

static void dev_destroy(void *obj)
{
	goldfish_rtc_destroy(obj);
}

static void dev_quiesce(void *obj)
{
	struct goldfish_rtc *r = obj;
	pthread_mutex_lock(&r->lock);
	r->quiesced = true;
	pthread_mutex_unlock(&r->lock);
}

static void dev_resume(void *obj)
{
	struct goldfish_rtc *r = obj;
	pthread_mutex_lock(&r->lock);
	r->quiesced = false;
	pthread_mutex_unlock(&r->lock);
	if (r->kick)   /* poll again: an alarm may have come due meanwhile */
		r->kick(r->kick_ctx);
}

const struct device_ops goldfish_rtc_device = {
	.name = "goldfish-rtc",
	.reset = dev_reset,
	.quiesce = dev_quiesce,
	.resume = dev_resume,
	.save = dev_save,
	.load = dev_load,
	.destroy = dev_destroy,
};
