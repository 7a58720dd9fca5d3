/*
 * A guest shaped like the teaching OSes built for QEMU's virt board (xv6
 * and its kin): it runs in M-mode with `--bios none` on 3 harts, uses the
 * CLINT timer itself (mtimecmp and mip.MTIP, no SBI), and looks for its
 * disk in the first virtio-mmio slot only (0x10001000; started on QEMU with
 * `-device virtio-blk-device,bus=virtio-mmio-bus.0`).  It drives the disk
 * as a modern (version 2) virtio-blk device through one split queue: reads
 * sector 0, writes sector 1, reads sector 1 back, and prints what it read.
 * No disk in slot 0 ends it the way xv6 ends: "could not find virtio disk".
 *
 * Output (UART0), checked by tests/virtio/run:
 *   slot0: harts 0 1 2 up, timer ok
 *   slot0: virtio-blk v2 at 0x10001000, N sectors
 *   slot0: sector 0: <text up to the first NUL or newline>
 *   slot0: sector 1: <what it wrote, read back>
 *   slot0: done
 * Built with the ISA tests' runtime (tests/isa/lib): hart 0 runs test_main,
 * harts 1 and 2 run test_secondary once hart 0 sends them a software
 * interrupt.  The verdict goes to `tohost` (0 = pass).
 */
#include "isa.h"

#define SLOT0 0x10001000ul
#define REG(off) (*(volatile uint32_t *)(SLOT0 + (off)))

#define MAGIC 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define DEV_FEATURES 0x010
#define DEV_FEATURES_SEL 0x014
#define DRV_FEATURES 0x020
#define DRV_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define INT_STATUS 0x060
#define INT_ACK 0x064
#define STATUS 0x070
#define DESC_LO 0x080
#define DESC_HI 0x084
#define DRIVER_LO 0x090
#define DRIVER_HI 0x094
#define DEVICE_LO 0x0a0
#define DEVICE_HI 0x0a4
#define CONFIG 0x100

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8

#define QSIZE 8
#define F_NEXT 1
#define F_WRITE 2
#define T_IN 0
#define T_OUT 1
#define NHARTS 3
#define TICKS_PER_MS 10000   /* the board's 10 MHz timebase */

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t avail_event; };
struct req { uint32_t type, reserved; uint64_t sector; };

static volatile struct desc desc[QSIZE] __attribute__((aligned(4096)));
static volatile struct avail avail __attribute__((aligned(4096)));
static volatile struct used used __attribute__((aligned(4096)));
static volatile struct req req __attribute__((aligned(16)));
static volatile uint8_t buf[512] __attribute__((aligned(512)));
static volatile uint8_t status;
static volatile uint32_t harts_up;          /* bit h: hart h slept on its timer and woke */

/* ---- console ----------------------------------------------------------- */

static void putc_(char c)
{
	volatile uint8_t *u = (volatile uint8_t *)UART_BASE;
	for (int i = 0; i < 100000 && !(u[5] & 0x20); i++)
		;
	u[0] = (uint8_t)c;
}

static void puts_(const char *s)
{
	while (*s)
		putc_(*s++);
}

static void putdec(uint64_t v)
{
	char d[24];
	int n = 0;
	do
		d[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		putc_(d[--n]);
}

/* A sector's text: up to the first NUL or newline, at most 64 bytes. */
static void put_text(void)
{
	for (int i = 0; i < 64 && buf[i] && buf[i] != '\n'; i++)
		putc_(buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '?');
	putc_('\n');
}

/* ---- timer: the CLINT directly ----------------------------------------- */

static uint64_t mtime(void)
{
	return *(volatile uint64_t *)CLINT_MTIME;
}

/* Sleeps on this hart's mtimecmp: MTIE set, MIE clear, so WFI wakes without a trap. */
static void sleep_ticks(uint64_t hart, uint64_t ticks)
{
	volatile uint64_t *cmp = (volatile uint64_t *)(uintptr_t)CLINT_MTIMECMP(hart);
	*cmp = mtime() + ticks;
	__asm__ volatile("csrs mie, %0" :: "r"(MIP_MTIP));
	for (;;) {
		uint64_t mip;
		__asm__ volatile("csrr %0, mip" : "=r"(mip));
		if (mip & MIP_MTIP)
			break;
		__asm__ volatile("wfi");
	}
	*cmp = ~0ull;
	__asm__ volatile("csrc mie, %0" :: "r"(MIP_MTIP));
}

void test_secondary(void)
{
	uint64_t id;
	__asm__ volatile("csrr %0, mhartid" : "=r"(id));
	sleep_ticks(id, id * TICKS_PER_MS);
	__atomic_fetch_or(&harts_up, 1u << id, __ATOMIC_SEQ_CST);
}

/* ---- virtio-blk ---------------------------------------------------------- */

static int disk_init(void)
{
	REG(STATUS) = 0;
	REG(STATUS) = S_ACK;
	REG(STATUS) = S_ACK | S_DRIVER;
	REG(DEV_FEATURES_SEL) = 1;
	if (!(REG(DEV_FEATURES) & 1))                  /* VIRTIO_F_VERSION_1 */
		return -1;
	REG(DRV_FEATURES_SEL) = 0;
	REG(DRV_FEATURES) = 0;
	REG(DRV_FEATURES_SEL) = 1;
	REG(DRV_FEATURES) = 1;
	REG(STATUS) = S_ACK | S_DRIVER | S_FEATURES_OK;
	if (!(REG(STATUS) & S_FEATURES_OK))
		return -2;
	REG(QUEUE_SEL) = 0;
	if (REG(QUEUE_READY) || REG(QUEUE_NUM_MAX) < QSIZE)
		return -3;
	REG(QUEUE_NUM) = QSIZE;
	REG(DESC_LO) = (uint32_t)(uintptr_t)desc;
	REG(DESC_HI) = (uint32_t)((uintptr_t)desc >> 32);
	REG(DRIVER_LO) = (uint32_t)(uintptr_t)&avail;
	REG(DRIVER_HI) = (uint32_t)((uintptr_t)&avail >> 32);
	REG(DEVICE_LO) = (uint32_t)(uintptr_t)&used;
	REG(DEVICE_HI) = (uint32_t)((uintptr_t)&used >> 32);
	REG(QUEUE_READY) = 1;
	REG(STATUS) = S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK;
	return 0;
}

/* One request (header, 512-byte buffer, status) and a wait for its completion. */
static int disk_rw(uint32_t type, uint64_t sector)
{
	req.type = type;
	req.reserved = 0;
	req.sector = sector;
	status = 0xff;
	desc[0] = (struct desc){ (uintptr_t)&req, sizeof req, F_NEXT, 1 };
	desc[1] = (struct desc){ (uintptr_t)buf, 512, (uint16_t)(F_NEXT | (type == T_IN ? F_WRITE : 0)), 2 };
	desc[2] = (struct desc){ (uintptr_t)&status, 1, F_WRITE, 0 };
	uint16_t idx = avail.idx, seen = used.idx;
	avail.ring[idx % QSIZE] = 0;
	__sync_synchronize();
	avail.idx = (uint16_t)(idx + 1);
	__sync_synchronize();
	REG(QUEUE_NOTIFY) = 0;
	uint64_t deadline = mtime() + 2000 * TICKS_PER_MS;
	while (used.idx == seen) {
		if (mtime() > deadline)
			return -1;
		__sync_synchronize();
	}
	if (REG(INT_STATUS) & 1)
		REG(INT_ACK) = 1;
	return status == 0 ? 0 : -2;
}

int test_main(void)
{
	/* The other harts: wake them, each sleeps on its own timer, then reports. */
	uint64_t t0 = mtime();
	for (unsigned h = 1; h < NHARTS; h++)
		*(volatile uint32_t *)(uintptr_t)CLINT_MSIP(h) = 1;
	sleep_ticks(0, 5 * TICKS_PER_MS);
	CHECK(mtime() - t0 >= 5 * TICKS_PER_MS, 1);
	__atomic_fetch_or(&harts_up, 1u, __ATOMIC_SEQ_CST);
	for (uint64_t deadline = mtime() + 2000 * TICKS_PER_MS;
	     harts_up != (1u << NHARTS) - 1 && mtime() < deadline;)
		;
	CHECK(harts_up, (1u << NHARTS) - 1);
	puts_("slot0: harts 0 1 2 up, timer ok\n");

	if (REG(MAGIC) != 0x74726976 || REG(VERSION) != 2 || REG(DEVICE_ID) != 2) {
		puts_("slot0: panic: could not find virtio disk\n");
		return 1;
	}
	CHECK(disk_init(), 0);
	uint64_t sectors = REG(CONFIG) | (uint64_t)REG(CONFIG + 4) << 32;
	puts_("slot0: virtio-blk v2 at 0x10001000, ");
	putdec(sectors);
	puts_(" sectors\n");

	CHECK(disk_rw(T_IN, 0), 0);
	puts_("slot0: sector 0: ");
	put_text();

	static const char msg[] = "written by the slot-0 guest on 3 harts";
	for (unsigned i = 0; i < 512; i++)
		buf[i] = i < sizeof msg ? (uint8_t)msg[i] : (uint8_t)(i & 0xff);
	CHECK(disk_rw(T_OUT, 1), 0);
	for (unsigned i = 0; i < 512; i++)
		buf[i] = 0;
	CHECK(disk_rw(T_IN, 1), 0);
	for (unsigned i = 0; i < 512; i++)
		CHECK(buf[i], i < sizeof msg ? (uint8_t)msg[i] : (uint8_t)(i & 0xff));
	puts_("slot0: sector 1: ");
	put_text();
	puts_("slot0: done\n");
	return 0;
}
