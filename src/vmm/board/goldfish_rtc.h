/*
 * The goldfish RTC ("google,goldfish-rtc", Android emulator / QEMU virt):
 * a 64-bit nanosecond wall clock and one alarm.  Registers, 32 bits each:
 *
 *   0x00 TIME_LOW        read: low half of now, latches the high half
 *   0x04 TIME_HIGH       read: the latched high half
 *   0x08 ALARM_LOW       write: low half of the alarm, and arms it
 *   0x0c ALARM_HIGH      write: high half of the alarm (written first)
 *   0x10 IRQ_ENABLED     bit 0 gates the interrupt output
 *   0x14 CLEAR_ALARM     write: disarms the alarm
 *   0x18 ALARM_STATUS    read: 1 while an alarm is armed
 *   0x1c CLEAR_INTERRUPT write: acknowledges the interrupt
 *
 * Time is the host's CLOCK_REALTIME plus an offset the guest changes by
 * writing TIME_LOW/TIME_HIGH (each replaces its half of the current time).
 * An alarm at or before now fires at once; a future one fires when the VM's
 * monitor thread calls goldfish_rtc_poll() at or after it (the device owns
 * no thread); `kick` tells the monitor that the deadline changed.  The
 * output is high while an interrupt is pending and enabled.  Reset keeps the
 * time offset (the wall clock survives a guest reboot) and clears the rest.
 * All state is under `lock`.
 */
#ifndef NIMBUS_VMM_BOARD_GOLDFISH_RTC_H
#define NIMBUS_VMM_BOARD_GOLDFISH_RTC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/device.h"
#include "vmm/irq.h"

#define GOLDFISH_RTC_TIME_LOW        0x00
#define GOLDFISH_RTC_TIME_HIGH       0x04
#define GOLDFISH_RTC_ALARM_LOW       0x08
#define GOLDFISH_RTC_ALARM_HIGH      0x0c
#define GOLDFISH_RTC_IRQ_ENABLED     0x10
#define GOLDFISH_RTC_CLEAR_ALARM     0x14
#define GOLDFISH_RTC_ALARM_STATUS    0x18
#define GOLDFISH_RTC_CLEAR_INTERRUPT 0x1c

/* Plain data: what a snapshot saves. */
struct goldfish_rtc_state {
	int64_t offset_ns;      /* guest time minus host realtime */
	uint64_t alarm_ns;      /* ALARM_HIGH:ALARM_LOW as last written */
	uint32_t time_high;     /* latched by a TIME_LOW read */
	uint8_t alarm_armed;
	uint8_t irq_enabled;
	uint8_t irq_pending;
	uint8_t irq_level;      /* last level driven on `irq` */
};

struct goldfish_rtc {
	pthread_mutex_t lock;
	struct irq_line irq;
	int64_t (*host_ns)(void);  /* host wall clock; replaceable in tests */
	void (*kick)(void *ctx);   /* the alarm deadline changed; may be NULL */
	void *kick_ctx;
	bool quiesced;             /* the VM is paused: alarms wait (device.h) */
	struct goldfish_rtc_state s;
};

extern const struct mmio_ops goldfish_rtc_ops;
/* The device type (device.h); obj is the struct goldfish_rtc. */
extern const struct device_ops goldfish_rtc_device;

int goldfish_rtc_init(struct goldfish_rtc *r, const struct irq_line *irq,
		      void (*kick)(void *ctx), void *kick_ctx);
void goldfish_rtc_destroy(struct goldfish_rtc *r);
void goldfish_rtc_reset(struct goldfish_rtc *r);

/* Fires a due alarm.  Returns host ns until the armed alarm, or -1 if none. */
int64_t goldfish_rtc_poll(struct goldfish_rtc *r);

#endif
