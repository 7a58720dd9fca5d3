/* Unit tests of virtio-rng: buffers get filled, the used length is right,
 * huge requests are capped, readable buffers are left alone. */
#include "vmm/virtio/rng.h"

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

#define FEAT (VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT_DESC)

static int start(struct td *d, unsigned flags)
{
	struct virtio_device *dev;
	struct err e;
	if (virtio_rng_create(&dev, &e) < 0)
		return -1;
	return td_start(d, dev, flags, FEAT, 1, 16);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

TEST(rng_fills_buffers)
{
	struct td d;
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC), 0);
	uint8_t *a = td_host(&d, TD_DATA), *b = td_host(&d, TD_DATA + 0x1000);
	td_desc(&d, 0, 0, TD_DATA, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	td_desc(&d, 0, 1, TD_DATA + 0x1000, 100, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	EXPECT_EQ(td_used_idx(&d, 0), 1);
	uint32_t id, len;
	td_used_elem(&d, 0, 0, &id, &len);
	EXPECT_EQ(len, 164);
	EXPECT(!all_zero(a, 64));
	EXPECT(!all_zero(b, 100));
	EXPECT(all_zero(b + 100, 64));   /* nothing past the buffer */
	EXPECT_EQ(atomic_load(&d.level), 1);
	td_close(&d);
}

TEST(rng_caps_request_and_skips_readable)
{
	struct td d;
	EXPECT_EQ(start(&d, VIRTIO_MMIO_SYNC), 0);
	td_desc(&d, 0, 0, TD_DATA, 32, VIRTQ_DESC_F_NEXT, 1);              /* readable: ignored */
	td_desc(&d, 0, 1, TD_DATA + 0x1000, 1u << 20, VIRTQ_DESC_F_WRITE, 0);
	td_post(&d, 0, 0);
	td_kick(&d, 0);
	uint32_t id, len;
	td_used_elem(&d, 0, 0, &id, &len);
	EXPECT_EQ(len, VIRTIO_RNG_MAX_FILL);
	EXPECT(all_zero(td_host(&d, TD_DATA), 32));
	EXPECT(all_zero(td_host(&d, TD_DATA + 0x1000 + VIRTIO_RNG_MAX_FILL), 4096));
	td_close(&d);
}

TEST(rng_threaded_many_requests)
{
	struct td d;
	EXPECT_EQ(start(&d, 0), 0);
	for (int i = 0; i < 16; i++) {
		td_desc(&d, 0, i, TD_DATA + 256 * i, 256, VIRTQ_DESC_F_WRITE, 0);
		td_post(&d, 0, i);
	}
	td_kick(&d, 0);
	EXPECT_EQ(td_wait_used(&d, 0, 16, 5000), 0);
	for (int i = 0; i < 16; i++)
		EXPECT(!all_zero(td_host(&d, TD_DATA + 256 * i), 256));
	td_close(&d);
}
