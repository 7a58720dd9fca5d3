/* Tests of the target's migration-stream parser (vm_migrate_recv.h): a good
 * stream lands pages, zero pages and disk data where they belong; a frame
 * that fails its CRC, a page or a disk range out of bounds, a stream cut
 * short and a foreign header are refused with a line naming the problem. */
#include "vmm/vm_migrate_recv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/snap_stream.h"
#include "vmm/vm_migrate_wire.h"

#define PAGES 16u
#define DISK_BYTES (256u << 10)

struct stream {
	uint8_t buf[64 << 10];
	size_t len;
};

static void put(struct stream *s, const void *p, size_t n)
{
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

static void header(struct stream *s, uint64_t ram_size)
{
	uint8_t h[MIG_HEADER_BYTES];
	memcpy(h, MIG_MAGIC, 8);
	mig_put32(h + 8, MIG_VERSION);
	mig_put32(h + 12, SNAP_ARCH_RISCV64);
	mig_put64(h + 16, ram_size);
	put(s, h, sizeof h);
}

static void frame(struct stream *s, char type, const uint8_t *payload, uint32_t len)
{
	uint8_t h[5] = { (uint8_t)type }, crc[4];
	mig_put32(h + 1, len);
	mig_put32(crc, snap_crc32(snap_crc32(0, h, 5), payload, len));
	put(s, h, 5);
	put(s, payload, len);
	put(s, crc, 4);
}

/* 'B': one disk of the given size. */
static void disk_list(struct stream *s, uint64_t size)
{
	uint8_t b[4 + 8];
	mig_put32(b, 1);
	mig_put64(b + 4, size);
	frame(s, 'B', b, sizeof b);
}

static void page_frame(struct stream *s, uint64_t pfn, uint8_t fill)
{
	uint8_t rec[MIG_REC];
	mig_put64(rec, pfn);
	memset(rec + 8, fill, MIG_PAGE);
	frame(s, 'P', rec, sizeof rec);
}

static void state_frame(struct stream *s)
{
	frame(s, 'S', (const uint8_t *)"state", 5);
}

struct result {
	int rc;
	struct err e;
	uint8_t ram[PAGES * MIG_PAGE];
	uint8_t disk[DISK_BYTES];
	size_t state_len;
};

/* Feeds s to the parser over a socket, with a RAM of PAGES pages and one
 * disk of DISK_BYTES bytes (whose contents land in r->disk). */
static void run(const struct stream *s, struct result *r)
{
	memset(r, 0, sizeof *r);
	memset(r->ram, 0x77, sizeof r->ram);   /* pages the stream zeroes must change */
	int sv[2];
	EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	EXPECT_EQ(mig_send_all(sv[0], s->buf, s->len), 0);
	shutdown(sv[0], SHUT_WR);
	char disk[] = "/tmp/nimbus-mig-recv-test-XXXXXX";
	int fd = mkstemp(disk);
	EXPECT(fd >= 0);
	EXPECT_EQ(ftruncate(fd, DISK_BYTES), 0);
	struct vm_config cfg = { .mem_size = sizeof r->ram, .ncpus = 1, .ndisks = 1 };
	cfg.disks[0] = (struct vm_disk){ .path = disk, .format = "raw" };
	struct vm_incoming in = { 0 };
	r->rc = vm_migrate_read_stream(sv[1], "test", sizeof r->ram, r->ram, &cfg, &in, &r->e);
	r->state_len = in.state_len;
	EXPECT_EQ(pread(fd, r->disk, DISK_BYTES, 0), (ssize_t)DISK_BYTES);
	free(in.state);
	close(fd);
	unlink(disk);
	close(sv[0]);
	close(sv[1]);
}

static struct stream *good_start(void)
{
	struct stream *s = calloc(1, sizeof *s);
	header(s, PAGES * MIG_PAGE);
	return s;
}

TEST(migrate_stream_lands_pages_zero_pages_and_disk_data)
{
	struct stream *s = good_start();
	disk_list(s, DISK_BYTES);
	uint8_t d[MIG_DISK_HDR + 1024];
	mig_put32(d, 0);
	mig_put64(d + 4, 4096);
	memset(d + MIG_DISK_HDR, 0xa5, 1024);
	frame(s, 'D', d, sizeof d);
	page_frame(s, 3, 0x5a);
	uint8_t z[8];
	mig_put64(z, 5);
	frame(s, 'Z', z, sizeof z);
	state_frame(s);
	struct result *r = malloc(sizeof *r);
	run(s, r);
	EXPECT_EQ(r->rc, 0);
	EXPECT_EQ(r->state_len, 5u);
	EXPECT_EQ(r->ram[3 * MIG_PAGE], 0x5a);
	EXPECT_EQ(r->ram[4 * MIG_PAGE - 1], 0x5a);
	EXPECT_EQ(r->ram[5 * MIG_PAGE + 100], 0);      /* 'Z' */
	EXPECT_EQ(r->ram[2 * MIG_PAGE], 0x77);         /* not sent: untouched */
	EXPECT_EQ(r->disk[4096], 0xa5);
	EXPECT_EQ(r->disk[4096 + 1023], 0xa5);
	EXPECT_EQ(r->disk[4096 + 1024], 0);
	free(r);
	free(s);
}

static void expect_refused(struct stream *s, int rc, const char *words)
{
	struct result *r = malloc(sizeof *r);
	run(s, r);
	EXPECT_EQ(r->rc, rc);
	EXPECT(strstr(r->e.msg, words) != NULL);
	EXPECT(strchr(r->e.msg, '\n') == NULL);
	free(r);
	free(s);
}

TEST(migrate_stream_refuses_a_frame_failing_its_crc)
{
	struct stream *s = good_start();
	page_frame(s, 1, 0x11);
	s->buf[s->len - 10] ^= 1;   /* a byte of the page */
	state_frame(s);
	expect_refused(s, -EBADMSG, "fails its CRC check");
}

TEST(migrate_stream_refuses_a_page_beyond_the_ram)
{
	struct stream *s = good_start();
	page_frame(s, PAGES, 0x11);
	state_frame(s);
	expect_refused(s, -EINVAL, "corrupt migration stream");
}

TEST(migrate_stream_refuses_disk_data_beyond_the_image)
{
	struct stream *s = good_start();
	disk_list(s, DISK_BYTES);
	uint8_t e[MIG_DISK_HDR + 8];
	mig_put32(e, 0);
	mig_put64(e + 4, DISK_BYTES - 512);
	mig_put64(e + MIG_DISK_HDR, 1024);   /* 512 bytes past the end */
	frame(s, 'E', e, sizeof e);
	state_frame(s);
	expect_refused(s, -EINVAL, "bad disk frame");
}

TEST(migrate_stream_refuses_a_disk_list_of_another_size)
{
	struct stream *s = good_start();
	disk_list(s, DISK_BYTES * 2);
	state_frame(s);
	expect_refused(s, -EINVAL, "needs the same size");
}

TEST(migrate_stream_refuses_an_empty_state)
{
	struct stream *s = good_start();
	page_frame(s, 1, 0x11);
	frame(s, 'S', (const uint8_t *)"", 0);
	expect_refused(s, -EINVAL, "corrupt migration stream");
}

TEST(migrate_stream_cut_short_is_refused)
{
	struct stream *s = good_start();
	page_frame(s, 1, 0x11);
	s->len -= 100;
	expect_refused(s, -ECONNRESET, "broke off");
}

TEST(migrate_stream_refuses_other_headers)
{
	struct stream *s = good_start();
	s->buf[0] = 'X';
	expect_refused(s, -EINVAL, "not a nimbus migration stream");
	s = good_start();
	mig_put32(s->buf + 8, MIG_VERSION + 1);
	expect_refused(s, -EPROTONOSUPPORT, "stream version");
	s = good_start();
	mig_put32(s->buf + 12, 0x41524d36);
	expect_refused(s, -EINVAL, "not a riscv64 VM");
	s = calloc(1, sizeof *s);
	header(s, 2 * PAGES * MIG_PAGE);
	expect_refused(s, -EINVAL, "(--mem)");
}
