/*
 * Placement of virtio devices on the board's slots: slot= puts a device
 * where it was asked (QEMU's bus=virtio-mmio-bus.N), the others fill the
 * free slots from the top down in list order (today's order when nobody
 * asks), and a taken or out-of-range slot is refused naming both devices.
 * The DeviceID register of each slot shows what sits there.
 */
#include "vmm/vm_virtio.h"
#include "lib/testing.h"
#include "vmm/guest_agent.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/net.h"
#include "vmm/vm_args.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct board {
	struct bus bus;
	struct virtio_slot slots[VIRT_VIRTIO_COUNT];
	struct vm_virtio v;
};

static int board_init(struct board *b)
{
	memset(b, 0, sizeof *b);
	if (bus_init(&b->bus, 0x80000000, 16u << 20))
		return -1;
	struct irq_line l = { 0 };
	for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++)
		virtio_slot_init(&b->slots[i], VIRT_VIRTIO_BASE + VIRT_VIRTIO_SIZE * i, &l);
	return 0;
}

static void board_fini(struct board *b)
{
	vm_virtio_detach(&b->v);
	bus_destroy(&b->bus);
}

/* The device ids in slots 0..7 as a string of digits ("0" = empty). */
static void ids(struct board *b, char *out)
{
	for (unsigned i = 0; i < VIRT_VIRTIO_COUNT; i++)
		out[i] = (char)('0' + virtio_slot_ops.read(&b->slots[i], 0x008, 4));
	out[VIRT_VIRTIO_COUNT] = 0;
}

static char disk_a[64], disk_b[64];

static void make_disks(void)
{
	strcpy(disk_a, "/tmp/nimbus-slot-a-XXXXXX");
	strcpy(disk_b, "/tmp/nimbus-slot-b-XXXXXX");
	int a = mkstemp(disk_a), b = mkstemp(disk_b);
	if (a < 0 || b < 0 || ftruncate(a, 1 << 20) || ftruncate(b, 1 << 20))
		abort();
	close(a);
	close(b);
}

TEST(virtio_slots_fill_from_the_top_without_slot)
{
	struct board b;
	char got[16];
	EXPECT_EQ(board_init(&b), 0);
	make_disks();
	struct vm_config cfg = { .ndisks = 2, .rng = true, .balloon = true };
	cfg.disks[0].path = disk_a;
	cfg.disks[1].path = disk_b;
	struct err e = { 0 };
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), 0);
	ids(&b, got);
	EXPECT(!strcmp(got, "00005422"));   /* vda in 7, vdb in 6, rng (4) in 5, balloon (5) in 4 */
	board_fini(&b);
	unlink(disk_a);
	unlink(disk_b);
}

TEST(virtio_slot_option_places_device_and_others_fill_around_it)
{
	struct board b;
	char got[16];
	EXPECT_EQ(board_init(&b), 0);
	make_disks();
	struct vm_config cfg = { .ndisks = 2, .rng = true };
	cfg.disks[0].path = disk_a;
	cfg.disks[1].path = disk_b;
	cfg.disks[1].slot = (struct vm_slot){ .set = true, .n = 0 };
	cfg.rng_slot = (struct vm_slot){ .set = true, .n = 7 };
	struct err e = { 0 };
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), 0);
	ids(&b, got);
	EXPECT(!strcmp(got, "20000024"));   /* disk b in 0, rng in 7, disk a in the next free: 6 */
	board_fini(&b);
	unlink(disk_a);
	unlink(disk_b);
}

TEST(virtio_slot_taken_or_out_of_range_refused_by_name)
{
	struct board b;
	char got[16];
	EXPECT_EQ(board_init(&b), 0);
	make_disks();
	struct vm_config cfg = { .ndisks = 2, .rng = true };
	cfg.disks[0].path = disk_a;
	cfg.disks[1].path = disk_b;
	cfg.disks[0].slot = (struct vm_slot){ .set = true, .n = 3 };
	cfg.rng_slot = (struct vm_slot){ .set = true, .n = 3 };
	struct err e = { 0 };
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), -EBUSY);
	EXPECT(strstr(e.msg, "--rng: slot=3: taken by --disk ") && strstr(e.msg, disk_a));
	ids(&b, got);
	EXPECT(!strcmp(got, "00000000"));   /* nothing left plugged */
	cfg.rng_slot.n = 8;
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--rng: slot=8: out of range"));
	/* Nine devices for eight slots. */
	struct vm_config many = { .ndisks = 6, .rng = true, .balloon = true, .virtio_console = true };
	for (unsigned i = 0; i < 6; i++)
		many.disks[i].path = i % 2 ? disk_b : disk_a;
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &many, NULL, &e), -ENOSPC);
	EXPECT(strstr(e.msg, "no free virtio-mmio slot"));
	board_fini(&b);
	unlink(disk_a);
	unlink(disk_b);
}

TEST(virtio_agent_port_comes_after_the_balloon_or_goes_in_its_slot)
{
	struct board b;
	char got[16];
	struct guest_agent *ga;
	struct err e = { 0 };
	EXPECT_EQ(guest_agent_create(&ga, &e), 0);
	EXPECT_EQ(board_init(&b), 0);
	struct vm_config cfg = { .rng = true, .balloon = true, .agent = ga };
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), 0);
	ids(&b, got);
	EXPECT(!strcmp(got, "00000354"));   /* rng in 7, balloon in 6, the agent's console (3) in 5 */
	board_fini(&b);
	EXPECT_EQ(board_init(&b), 0);
	cfg.agent_slot = (struct vm_slot){ .set = true, .n = 0 };
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), 0);
	ids(&b, got);
	EXPECT(!strcmp(got, "30000054"));
	board_fini(&b);
	guest_agent_destroy(ga);
}

TEST(virtio_disk_slots_are_empty_disks_after_the_disks_and_count_against_the_board)
{
	struct board b;
	char got[16];
	EXPECT_EQ(board_init(&b), 0);
	make_disks();
	struct vm_config cfg = { .ndisks = 1, .disk_slots = 3, .rng = true };
	cfg.disks[0].path = disk_a;
	struct err e = { 0 };
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), 0);
	ids(&b, got);
	EXPECT(!strcmp(got, "00042222"));   /* vda in 7, the slots vdb..vdd in 6..4, rng after */
	EXPECT_EQ(b.v.ndisks, 1);           /* disk0.. stay the --disk devices (rate limits) */
	EXPECT_EQ(b.v.nslots, 3);
	EXPECT(!virtio_blk_loaded(b.v.slot[0], NULL));
	EXPECT_EQ(virtio_blk_size(b.v.slot[0]), 0);
	vm_virtio_detach(&b.v);
	cfg.disk_slots = 7;                 /* 1 + 7 + rng: nine for eight */
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), -ENOSPC);
	EXPECT(strstr(e.msg, "no free virtio-mmio slot"));
	cfg.disk_slots = 9;
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--disk-slots 9"));
	board_fini(&b);
	unlink(disk_a);
	unlink(disk_b);
}

TEST(virtio_net_slots_are_nics_with_no_link_after_the_nets_with_their_macs)
{
	struct board b;
	char got[16];
	EXPECT_EQ(board_init(&b), 0);
	struct vm_config cfg = { .disk_slots = 1, .net_slots = 2, .rng = true };
	struct err e = { 0 };
	EXPECT_EQ(vm_net_slots_parse("2,mac=52:54:02:00:00:10", &cfg, &e), 0);
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), 0);
	ids(&b, got);
	EXPECT(!strcmp(got, "00004112"));   /* the disk slot in 7, the NICs in 6 and 5, rng after */
	EXPECT_EQ(b.v.nnets, 0);            /* net0.. stay the --net devices (rate limits) */
	EXPECT_EQ(b.v.nnic_slots, 2);
	uint8_t mac[6];
	virtio_net_mac(b.v.nic_slot[1], mac);
	EXPECT_EQ(mac[5], 0x11);
	EXPECT(!virtio_net_loaded(b.v.nic_slot[0]));
	vm_virtio_detach(&b.v);
	cfg.net_slots = 5;
	EXPECT_EQ(vm_virtio_attach(&b.v, &b.bus, b.slots, &cfg, NULL, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--net-slots 5: at most 4"));
	board_fini(&b);
}
