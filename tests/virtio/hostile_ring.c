/*
 * A hostile guest against virtio-blk: a bare-metal M-mode program that drives
 * the disk in the board's highest virtio-mmio slot (0x10008000, where nimbus
 * puts the first --disk) with malformed descriptor chains -- a loop, a
 * buffer outside guest RAM, a length that runs past the end of RAM, an avail
 * index far ahead of the ring -- and checks that each one puts the device in
 * DEVICE_NEEDS_RESET (virtio 1.2, 2.1.2) and that after a reset a
 * well-formed read still works.  The VMM must survive all of it.
 * Built with the ISA tests' runtime (tests/isa/lib) by tests/virtio/run.
 */
#include "isa.h"

#define SLOT 0x10008000ul
#define REG(off) (*(volatile uint32_t *)(SLOT + (off)))

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

#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define QSIZE 8
#define F_NEXT 1
#define F_WRITE 2

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct avail { uint16_t flags, idx, ring[QSIZE], used_event; };
struct used_elem { uint32_t id, len; };
struct used { uint16_t flags, idx; struct used_elem ring[QSIZE]; uint16_t avail_event; };
struct req { uint32_t type, reserved; uint64_t sector; };

/* Fixed guest-physical buffers well past the program (the VM has 64 MiB). */
#define DESC ((volatile struct desc *)0x81000000ul)
#define AVAIL ((volatile struct avail *)0x81001000ul)
#define USED ((volatile struct used *)0x81002000ul)
#define REQ ((volatile struct req *)0x81003000ul)
#define DATA ((volatile uint8_t *)0x81004000ul)
#define STAT ((volatile uint8_t *)0x81005000ul)
#define RAM_END 0x84000000ul

static void setup(void)
{
	REG(STATUS) = 0;
	while (REG(STATUS) != 0)
		;
	REG(STATUS) = S_ACK;
	REG(STATUS) = S_ACK | S_DRIVER;
	REG(DEV_FEATURES_SEL) = 1;
	CHECK(REG(DEV_FEATURES) & 1, 1);            /* VIRTIO_F_VERSION_1 */
	REG(DRV_FEATURES_SEL) = 0;
	REG(DRV_FEATURES) = 0;
	REG(DRV_FEATURES_SEL) = 1;
	REG(DRV_FEATURES) = 1;
	REG(STATUS) = S_ACK | S_DRIVER | S_FEATURES_OK;
	CHECK(REG(STATUS) & S_FEATURES_OK, S_FEATURES_OK);
	REG(QUEUE_SEL) = 0;
	CHECK(REG(QUEUE_NUM_MAX) >= QSIZE, 1);
	REG(QUEUE_NUM) = QSIZE;
	for (unsigned i = 0; i < sizeof(struct avail) / 2; i++)
		((volatile uint16_t *)AVAIL)[i] = 0;
	for (unsigned i = 0; i < sizeof(struct used) / 2; i++)
		((volatile uint16_t *)USED)[i] = 0;
	REG(DESC_LO) = (uint32_t)(uintptr_t)DESC;
	REG(DESC_HI) = 0;
	REG(DRIVER_LO) = (uint32_t)(uintptr_t)AVAIL;
	REG(DRIVER_HI) = 0;
	REG(DEVICE_LO) = (uint32_t)(uintptr_t)USED;
	REG(DEVICE_HI) = 0;
	REG(QUEUE_READY) = 1;
	REG(STATUS) = S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK;
}

static void publish(uint16_t head, uint16_t idx_step)
{
	uint16_t idx = AVAIL->idx;
	AVAIL->ring[idx % QSIZE] = head;
	__sync_synchronize();
	AVAIL->idx = (uint16_t)(idx + idx_step);
	__sync_synchronize();
	REG(QUEUE_NOTIFY) = 0;
}

/* Spins until the device flags NEEDS_RESET; returns the status register. */
static uint32_t wait_needs_reset(void)
{
	for (unsigned long i = 0; i < 50000000ul; i++) {
		uint32_t s = REG(STATUS);
		if (s & S_NEEDS_RESET)
			return s;
	}
	return REG(STATUS);
}

static void good_request(uint16_t head)
{
	REQ->type = 0;   /* VIRTIO_BLK_T_IN */
	REQ->reserved = 0;
	REQ->sector = 0;
	*STAT = 0xff;
	DESC[head] = (struct desc){ (uintptr_t)REQ, sizeof(struct req), F_NEXT, (uint16_t)(head + 1) };
	DESC[head + 1] = (struct desc){ (uintptr_t)DATA, 512, F_NEXT | F_WRITE, (uint16_t)(head + 2) };
	DESC[head + 2] = (struct desc){ (uintptr_t)STAT, 1, F_WRITE, 0 };
}

int test_main(void)
{
	CHECK(REG(MAGIC), 0x74726976);
	CHECK(REG(VERSION), 2);
	CHECK(REG(DEVICE_ID), 2);   /* virtio-blk */

	/* 1: a descriptor loop (1 -> 2 -> 1, all device-writable). */
	setup();
	good_request(0);
	DESC[2].flags = F_WRITE | F_NEXT;
	DESC[2].next = 1;
	publish(0, 1);
	CHECK(wait_needs_reset() & S_NEEDS_RESET, S_NEEDS_RESET);

	/* 2: a data buffer outside guest RAM (the MROM / device space). */
	setup();
	good_request(0);
	DESC[1].addr = 0x1000;
	publish(0, 1);
	CHECK(wait_needs_reset() & S_NEEDS_RESET, S_NEEDS_RESET);

	/* 3: a length that runs past the end of RAM. */
	setup();
	good_request(0);
	DESC[1].addr = RAM_END - 256;
	DESC[1].len = 0xfffff000u;
	publish(0, 1);
	CHECK(wait_needs_reset() & S_NEEDS_RESET, S_NEEDS_RESET);

	/* 4: an address that wraps around the 64-bit space. */
	setup();
	good_request(0);
	DESC[1].addr = 0xfffffffffffffe00ul;
	publish(0, 1);
	CHECK(wait_needs_reset() & S_NEEDS_RESET, S_NEEDS_RESET);

	/* 5: avail idx claiming far more buffers than the queue holds. */
	setup();
	good_request(0);
	publish(0, 1000);
	CHECK(wait_needs_reset() & S_NEEDS_RESET, S_NEEDS_RESET);

	/* 6: a head index beyond the queue. */
	setup();
	publish(200, 1);
	CHECK(wait_needs_reset() & S_NEEDS_RESET, S_NEEDS_RESET);

	/* After a reset, a well-formed read completes with VIRTIO_BLK_S_OK. */
	setup();
	good_request(0);
	publish(0, 1);
	for (unsigned long i = 0; i < 50000000ul && USED->idx == 0; i++)
		__sync_synchronize();
	CHECK(USED->idx, 1);
	CHECK(*STAT, 0);
	CHECK(DATA[0], 0x5a);      /* the run script fills the disk with 0x5a */
	CHECK(REG(STATUS) & S_NEEDS_RESET, 0);
	return 0;
}
