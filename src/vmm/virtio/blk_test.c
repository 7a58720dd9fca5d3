/*
 * Unit tests of virtio-blk over the raw backend on a temporary file: config
 * space, write/read/flush round trip with odd descriptor layouts, GET_ID,
 * a read-only disk, request errors (range, length, type, short header),
 * discard and write-zeroes, and a request without a status byte.
 */
#include "vmm/virtio/blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

#define DISK_SECTORS 64
#define HDR   (TD_DATA)
#define STAT  (TD_DATA + 0x100)
#define DATA  (TD_DATA + 0x1000)

struct bt {
	struct td d;
	char path[64];
	int fd;          /* our own view of the disk file */
};

/* The disk file at b->path, of DISK_SECTORS sectors. */
static int bt_file(struct bt *b)
{
	snprintf(b->path, sizeof b->path, "/tmp/nimbus-blk-test-XXXXXX");
	b->fd = mkstemp(b->path);
	return b->fd < 0 || ftruncate(b->fd, DISK_SECTORS * 512) < 0 ? -1 : 0;
}

/* The device over be (empty: block_empty_open), driven up to DRIVER_OK. */
static int bt_start(struct bt *b, struct block_backend *be, const char *serial, unsigned flags,
		    struct virtio_device **out)
{
	struct virtio_device *dev;
	struct err e;
	if (virtio_blk_create(be, serial, &dev, &e) < 0)
		return -3;
	if (td_open(&b->d, dev, flags) < 0)
		return -4;
	if (!(td_negotiate(&b->d, td_device_features(&b->d)) & VIRTIO_STATUS_FEATURES_OK))
		return -5;
	if (td_queue(&b->d, 0, 64) != 1)
		return -6;
	td_driver_ok(&b->d);
	*out = dev;
	return 0;
}

static int bt_open(struct bt *b, bool ro, const char *serial, unsigned flags)
{
	if (bt_file(b) < 0)
		return -1;
	struct block_backend *be;
	struct virtio_device *dev;
	struct err e;
	if (block_raw_open(b->path, ro, &be, &e) < 0)
		return -2;
	return bt_start(b, be, serial, flags, &dev);
}

static void bt_close(struct bt *b)
{
	td_close(&b->d);
	close(b->fd);
	unlink(b->path);
}

static void put_hdr(struct bt *b, uint32_t type, uint64_t sector)
{
	uint8_t *h = td_host(&b->d, HDR);
	memset(h, 0, 16);
	memcpy(h, &type, 4);
	memcpy(h + 8, &sector, 8);
}

/* Submits header + one data buffer + status; returns the status byte, used len in *used. */
static int req(struct bt *b, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
	       bool data_writable, uint32_t *used)
{
	struct td *d = &b->d;
	put_hdr(b, type, sector);
	*(uint8_t *)td_host(d, STAT) = 0xee;
	unsigned n = 0;
	td_desc(d, 0, n, HDR, 16, VIRTQ_DESC_F_NEXT, n + 1);
	n++;
	if (len) {
		td_desc(d, 0, n, data, len, VIRTQ_DESC_F_NEXT | (data_writable ? VIRTQ_DESC_F_WRITE : 0), n + 1);
		n++;
	}
	td_desc(d, 0, n, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	uint16_t before = td_used_idx(d, 0);
	td_post(d, 0, 0);
	td_kick(d, 0);
	if (td_wait_used(d, 0, (uint16_t)(before + 1), 5000) < 0)
		return -1;
	uint32_t id;
	td_used_elem(d, 0, before, &id, used);
	return *(uint8_t *)td_host(d, STAT);
}

static uint8_t *host(struct bt *b, uint64_t gpa) { return td_host(&b->d, gpa); }

TEST(blk_config_space)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, NULL, VIRTIO_MMIO_SYNC), 0);
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
	uint64_t f = td_device_features(&b.d);
	EXPECT(f & VIRTIO_BLK_F_FLUSH);
	EXPECT(f & VIRTIO_BLK_F_DISCARD);
	EXPECT(f & VIRTIO_BLK_F_WRITE_ZEROES);
	EXPECT(f & VIRTIO_BLK_F_SEG_MAX);
	EXPECT(!(f & VIRTIO_BLK_F_RO));
	uint64_t cap = 0;
	EXPECT_EQ(bus_load(&b.d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG, 8, &cap), 0);
	EXPECT_EQ(cap, DISK_SECTORS);
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_CONFIG + 0), DISK_SECTORS);
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_CONFIG + 4), 0);
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_CONFIG + 12), 254);      /* seg_max */
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_CONFIG + 20), 512);      /* blk_size */
	/* TOPOLOGY: 4 KiB physical blocks, 4 KiB minimum, 512 KiB optimal I/O
	 * (Linux reads ahead twice that: fewer, larger requests). */
	EXPECT(f & VIRTIO_BLK_F_TOPOLOGY);
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_CONFIG + 24), 3u | 8u << 16);
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_CONFIG + 28), 1024);     /* opt_io_size */
	uint64_t one = 0;
	bus_load(&b.d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG + 56, 1, &one);
	EXPECT_EQ(one, 1);                                          /* write_zeroes_may_unmap */
	EXPECT_EQ(td_rd(&b.d, VIRTIO_MMIO_CONFIG + 60), 0);        /* past the end */
	bt_close(&b);
}

TEST(blk_write_read_flush_roundtrip)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, NULL, VIRTIO_MMIO_SYNC), 0);
	uint32_t used;
	for (int i = 0; i < 1024; i++)
		host(&b, DATA)[i] = (uint8_t)(i * 7 + 1);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, 3, DATA, 1024, false, &used), VIRTIO_BLK_S_OK);
	EXPECT_EQ(used, 1);
	uint8_t file[1024];
	EXPECT_EQ(pread(b.fd, file, 1024, 3 * 512), 1024);
	EXPECT(memcmp(file, host(&b, DATA), 1024) == 0);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, 3, DATA + 0x1000, 1024, true, &used), VIRTIO_BLK_S_OK);
	EXPECT_EQ(used, 1025);
	EXPECT(memcmp(host(&b, DATA + 0x1000), host(&b, DATA), 1024) == 0);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	/* The last sector is reachable, sector 0 too. */
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, DATA, 512, true, &used), VIRTIO_BLK_S_OK);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, 0, DATA, 512, false, &used), VIRTIO_BLK_S_OK);
	bt_close(&b);
}

TEST(blk_any_layout)
{
	/* Header split 10+6 with the first data bytes in the same descriptor as
	 * the header's tail; data over three odd pieces; status shares the last
	 * data descriptor. */
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, NULL, VIRTIO_MMIO_SYNC), 0);
	struct td *d = &b.d;
	uint8_t *w = host(&b, DATA);
	uint32_t type = VIRTIO_BLK_T_OUT;
	uint64_t sector = 5;
	memset(w, 0, 16);
	memcpy(w, &type, 4);
	memcpy(w + 8, &sector, 8);
	for (int i = 0; i < 512; i++)
		w[16 + i] = (uint8_t)(i ^ 0x5a);
	td_desc(d, 0, 0, DATA, 10, VIRTQ_DESC_F_NEXT, 1);
	td_desc(d, 0, 1, DATA + 10, 106, VIRTQ_DESC_F_NEXT, 2);
	td_desc(d, 0, 2, DATA + 116, 412, VIRTQ_DESC_F_NEXT, 3);
	td_desc(d, 0, 3, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	td_post(d, 0, 0);
	td_kick(d, 0);
	EXPECT_EQ(*host(&b, STAT), VIRTIO_BLK_S_OK);
	uint8_t file[512];
	EXPECT_EQ(pread(b.fd, file, 512, 5 * 512), 512);
	EXPECT(memcmp(file, w + 16, 512) == 0);
	/* Read it back into 300 + 212+status (one descriptor holds data and status). */
	type = VIRTIO_BLK_T_IN;
	memcpy(w, &type, 4);
	uint64_t out = DATA + 0x2000;
	td_desc(d, 0, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	td_desc(d, 0, 1, out, 300, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	td_desc(d, 0, 2, out + 300, 213, VIRTQ_DESC_F_WRITE, 0);
	td_post(d, 0, 0);
	td_kick(d, 0);
	EXPECT_EQ(host(&b, out)[512], VIRTIO_BLK_S_OK);
	EXPECT(memcmp(host(&b, out), file, 512) == 0);
	uint32_t id, used;
	td_used_elem(d, 0, 1, &id, &used);
	EXPECT_EQ(used, 513);
	bt_close(&b);
}

TEST(blk_get_id)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, "disk-serial-0123456789", VIRTIO_MMIO_SYNC), 0);
	uint32_t used;
	memset(host(&b, DATA), 0xff, 32);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_GET_ID, 0, DATA, 20, true, &used), VIRTIO_BLK_S_OK);
	EXPECT(memcmp(host(&b, DATA), "disk-serial-01234567", 20) == 0);
	EXPECT_EQ(used, 21);
	bt_close(&b);
	EXPECT_EQ(bt_open(&b, false, "short", VIRTIO_MMIO_SYNC), 0);
	memset(host(&b, DATA), 0xff, 32);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_GET_ID, 0, DATA, 20, true, &used), VIRTIO_BLK_S_OK);
	EXPECT(memcmp(host(&b, DATA), "short\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20) == 0);
	bt_close(&b);
}

TEST(blk_readonly_refuses_writes)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, true, NULL, VIRTIO_MMIO_SYNC), 0);
	uint64_t f = td_device_features(&b.d);
	EXPECT(f & VIRTIO_BLK_F_RO);
	EXPECT(!(f & VIRTIO_BLK_F_DISCARD));
	uint32_t used;
	memset(host(&b, DATA), 0xab, 512);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, 1, DATA, 512, false, &used), VIRTIO_BLK_S_IOERR);
	uint8_t file[512], zero[512] = {0};
	EXPECT_EQ(pread(b.fd, file, 512, 512), 512);
	EXPECT(memcmp(file, zero, 512) == 0);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, 1, DATA, 512, true, &used), VIRTIO_BLK_S_OK);
	EXPECT(memcmp(host(&b, DATA), zero, 512) == 0);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA, 16, false, &used), VIRTIO_BLK_S_UNSUPP);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_FLUSH, 0, 0, 0, false, &used), VIRTIO_BLK_S_OK);
	bt_close(&b);
}

TEST(blk_request_errors)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, NULL, VIRTIO_MMIO_SYNC), 0);
	uint32_t used;
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, DISK_SECTORS, DATA, 512, true, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, DISK_SECTORS - 1, DATA, 1024, true, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, ~0ull, DATA, 512, false, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, 1ull << 55, DATA, 512, false, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, 0, DATA, 100, true, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, 0, DATA, 513, false, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, 99, 0, 0, 0, false, &used), VIRTIO_BLK_S_UNSUPP);
	EXPECT_EQ(req(&b, 2 /* legacy SCSI */, 0, 0, 0, false, &used), VIRTIO_BLK_S_UNSUPP);
	/* A header shorter than 16 bytes. */
	struct td *d = &b.d;
	td_desc(d, 0, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 1);
	td_desc(d, 0, 1, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
	td_post(d, 0, 0);
	td_kick(d, 0);
	EXPECT_EQ(*host(&b, STAT), VIRTIO_BLK_S_IOERR);
	/* None of that broke the device. */
	EXPECT(!(td_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, 0, DATA, 512, true, &used), VIRTIO_BLK_S_OK);
	bt_close(&b);
}

static void put_seg(struct bt *b, unsigned i, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint8_t *p = host(b, DATA + 16 * i);
	memcpy(p, &sector, 8);
	memcpy(p + 8, &num, 4);
	memcpy(p + 12, &flags, 4);
}

TEST(blk_discard_and_write_zeroes)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, NULL, VIRTIO_MMIO_SYNC), 0);
	uint8_t ones[4096], buf[4096], zero[4096] = {0};
	memset(ones, 0x11, sizeof ones);
	EXPECT_EQ(pwrite(b.fd, ones, sizeof ones, 8 * 512), 4096);
	EXPECT_EQ(pwrite(b.fd, ones, sizeof ones, 24 * 512), 4096);
	uint32_t used;
	/* Two write-zeroes segments, one allowed to unmap. */
	put_seg(&b, 0, 8, 4, 0);
	put_seg(&b, 1, 12, 4, VIRTIO_BLK_WZ_F_UNMAP);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA, 32, false, &used), VIRTIO_BLK_S_OK);
	EXPECT_EQ(pread(b.fd, buf, 4096, 8 * 512), 4096);
	EXPECT(memcmp(buf, zero, 4096) == 0);
	/* Discard: allowed, content unspecified; unmap flag and unknown flags refused. */
	put_seg(&b, 0, 24, 8, 0);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_DISCARD, 0, DATA, 16, false, &used), VIRTIO_BLK_S_OK);
	put_seg(&b, 0, 24, 8, VIRTIO_BLK_WZ_F_UNMAP);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_DISCARD, 0, DATA, 16, false, &used), VIRTIO_BLK_S_UNSUPP);
	put_seg(&b, 0, 24, 8, 2);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_WRITE_ZEROES, 0, DATA, 16, false, &used), VIRTIO_BLK_S_UNSUPP);
	/* Out of range, no segment, ragged segment array. */
	put_seg(&b, 0, DISK_SECTORS - 1, 2, 0);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_DISCARD, 0, DATA, 16, false, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_DISCARD, 0, 0, 0, false, &used), VIRTIO_BLK_S_IOERR);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_DISCARD, 0, DATA, 20, false, &used), VIRTIO_BLK_S_IOERR);
	/* The file keeps its size. */
	EXPECT_EQ(lseek(b.fd, 0, SEEK_END), DISK_SECTORS * 512);
	bt_close(&b);
}

TEST(blk_request_without_status_breaks_device)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, NULL, VIRTIO_MMIO_SYNC), 0);
	struct td *d = &b.d;
	put_hdr(&b, VIRTIO_BLK_T_FLUSH, 0);
	td_desc(d, 0, 0, HDR, 16, 0, 0);
	td_post(d, 0, 0);
	td_kick(d, 0);
	EXPECT(td_rd(d, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	EXPECT_EQ(td_rd(d, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_ISR_CONFIG);
	EXPECT_EQ(td_used_idx(d, 0), 0);
	bt_close(&b);
}

TEST(blk_on_io_thread)
{
	struct bt b;
	EXPECT_EQ(bt_open(&b, false, NULL, 0), 0);
	uint32_t used;
	for (int s = 0; s < DISK_SECTORS; s += 8) {
		memset(host(&b, DATA), s, 4096);
		EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, (uint64_t)s, DATA, 4096, false, &used), VIRTIO_BLK_S_OK);
	}
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, 40, DATA, 512, true, &used), VIRTIO_BLK_S_OK);
	EXPECT_EQ(host(&b, DATA)[0], 40);
	bt_close(&b);
}

static uint64_t capacity(struct bt *b)
{
	uint64_t cap = ~0ull;
	bus_load(&b->d.bus, TD_MMIO + VIRTIO_MMIO_CONFIG, 8, &cap);
	return cap;
}

/* Whether a configuration change was signalled since the last call (acked). */
static bool config_changed(struct bt *b)
{
	uint32_t isr = td_rd(&b->d, VIRTIO_MMIO_INTERRUPT_STATUS);
	td_wr(&b->d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr & VIRTIO_ISR_CONFIG;
}

TEST(blk_empty_slot_takes_a_disk_and_gives_it_back_telling_the_guest_each_time)
{
	struct bt b;
	struct block_backend *empty, *disk, *ro;
	struct err e;
	uint32_t used;
	EXPECT_EQ(bt_file(&b), 0);
	EXPECT_EQ(block_empty_open(&empty, &e), 0);
	struct virtio_device *dev;
	EXPECT_EQ(bt_start(&b, empty, NULL, VIRTIO_MMIO_SYNC, &dev), 0);
	/* An empty slot offers what a writable volume will need. */
	uint64_t f = td_device_features(&b.d);
	EXPECT((f & VIRTIO_BLK_F_DISCARD) && (f & VIRTIO_BLK_F_WRITE_ZEROES) && !(f & VIRTIO_BLK_F_RO));
	EXPECT_EQ(capacity(&b), 0);
	EXPECT(!virtio_blk_loaded(dev, NULL));
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, 0, DATA, 512, true, &used), VIRTIO_BLK_S_IOERR);
	uint32_t gen = td_rd(&b.d, VIRTIO_MMIO_CONFIG_GENERATION);

	EXPECT_EQ(block_raw_open(b.path, true, &ro, &e), 0);
	EXPECT_EQ(virtio_blk_insert(dev, ro, "v", &e), -EINVAL);   /* read-only: not what was offered */
	block_backend_close(ro);
	EXPECT(!config_changed(&b));
	EXPECT_EQ(block_raw_open(b.path, false, &disk, &e), 0);
	EXPECT_EQ(virtio_blk_insert(dev, disk, "vol1", &e), 0);
	EXPECT(config_changed(&b));
	EXPECT(td_rd(&b.d, VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	EXPECT_EQ(capacity(&b), DISK_SECTORS);
	char id[VIRTIO_BLK_ID_BYTES + 1];
	EXPECT(virtio_blk_loaded(dev, id));
	EXPECT(!strcmp(id, "vol1"));
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_GET_ID, 0, DATA, 20, true, &used), VIRTIO_BLK_S_OK);
	EXPECT(memcmp(host(&b, DATA), "vol1\0", 5) == 0);
	memset(host(&b, DATA), 0x6b, 512);
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_OUT, 3, DATA, 512, false, &used), VIRTIO_BLK_S_OK);
	struct block_backend *again;
	EXPECT_EQ(block_empty_open(&again, &e), 0);
	EXPECT_EQ(virtio_blk_insert(dev, again, "vol2", &e), -EBUSY);   /* one disk per slot */
	block_backend_close(again);

	EXPECT_EQ(virtio_blk_eject(dev, &e), 0);
	EXPECT(config_changed(&b));
	EXPECT_EQ(capacity(&b), 0);
	EXPECT(!virtio_blk_loaded(dev, id));
	EXPECT(!strcmp(id, ""));
	EXPECT_EQ(req(&b, VIRTIO_BLK_T_IN, 3, DATA, 512, true, &used), VIRTIO_BLK_S_IOERR);
	uint8_t sector[512];
	EXPECT_EQ(pread(b.fd, sector, 512, 3 * 512), 512);   /* the guest's write is on the file */
	EXPECT_EQ(sector[0], 0x6b);
	EXPECT_EQ(sector[511], 0x6b);
	EXPECT_EQ(virtio_blk_eject(dev, &e), -ENOENT);
	bt_close(&b);
}

TEST(blk_backend_open_errors)
{
	struct block_backend *be;
	struct err e;
	struct block_opts o = { .readonly = false, .format = BLOCK_FORMAT_RAW };
	EXPECT_EQ(block_backend_open("/nonexistent/disk.img", &o, &be, &e), -ENOENT);
	EXPECT(strstr(e.msg, "/nonexistent/disk.img") != NULL);
	EXPECT_EQ(block_backend_open("/tmp", &o, &be, &e), -EISDIR);
	o.format = BLOCK_FORMAT_QCOW2;
	EXPECT(block_backend_open("/dev/null", &o, &be, &e) < 0);   /* no qcow2 header */
	enum block_format f;
	EXPECT_EQ(block_format_parse("raw", &f), 0);
	EXPECT_EQ(block_format_parse("vmdk", &f), -EINVAL);
	/* An empty file has no sector. */
	char path[] = "/tmp/nimbus-blk-empty-XXXXXX";
	int fd = mkstemp(path);
	EXPECT(fd >= 0);
	EXPECT_EQ(block_raw_open(path, false, &be, &e), -EINVAL);
	close(fd);
	unlink(path);
}
