/* Tests of the snapshot stream (snap_stream.h): round trip, CRC, and refusal
 * of truncated, corrupted, newer and foreign files. */
#include "vmm/snap_stream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/testing.h"

static void sample(struct snap_out *o)
{
	snap_out_init(o);
	snap_begin(o, "first", 1);
	snap_put_u8(o, 0xab);
	snap_put_u16(o, 0x1234);
	snap_put_u32(o, 0xdeadbeef);
	snap_put_u64(o, 0x0102030405060708ull);
	snap_put_str(o, "hello");
	snap_end(o);
	snap_begin(o, "second", 3);
	snap_put_bytes(o, "xyz", 3);
	snap_end(o);
	snap_out_finish(o);
}

TEST(snap_crc32_matches_the_ieee_check_value)
{
	EXPECT_EQ(snap_crc32(0, "123456789", 9), 0xcbf43926u);
	/* Incremental use gives the same result. */
	EXPECT_EQ(snap_crc32(snap_crc32(0, "1234", 4), "56789", 5), 0xcbf43926u);
}

TEST(snap_round_trip_reads_back_every_field_little_endian)
{
	struct snap_out o;
	sample(&o);
	EXPECT(!o.nomem);
	/* Little-endian on the wire whatever the host. */
	EXPECT_EQ(memcmp(o.buf, "NIMBSNAP\x01\x00\x00\x00", 12), 0);
	struct snap_in *in = malloc(sizeof *in);
	struct err e = {0};
	EXPECT_EQ(snap_in_open(in, o.buf, o.len, "t", &e), 0);
	EXPECT_EQ(in->nsec, 2u);
	EXPECT_EQ(snap_in_section(in, "second", 3, &e), 0);
	char b[4] = {0};
	snap_get_bytes(in, b, 3);
	EXPECT_EQ(strcmp(b, "xyz"), 0);
	EXPECT_EQ(snap_in_end(in, &e), 0);
	EXPECT_EQ(snap_in_section(in, "first", 1, &e), 0);
	EXPECT_EQ(snap_get_u8(in), 0xab);
	EXPECT_EQ(snap_get_u16(in), 0x1234);
	EXPECT_EQ(snap_get_u32(in), 0xdeadbeefu);
	EXPECT_EQ(snap_get_u64(in), 0x0102030405060708ull);
	char s[16];
	snap_get_str(in, s, sizeof s);
	EXPECT_EQ(strcmp(s, "hello"), 0);
	EXPECT_EQ(snap_in_end(in, &e), 0);
	free(in);
	snap_out_free(&o);
}

TEST(snap_reading_past_a_section_or_leaving_bytes_is_an_error)
{
	struct snap_out o;
	sample(&o);
	struct snap_in *in = malloc(sizeof *in);
	struct err e = {0};
	EXPECT_EQ(snap_in_open(in, o.buf, o.len, "t", &e), 0);
	EXPECT_EQ(snap_in_section(in, "second", 3, &e), 0);
	EXPECT_EQ(snap_get_u64(in), 0u);   /* only 3 bytes there */
	EXPECT_EQ(snap_in_end(in, &e), -EINVAL);
	EXPECT(strstr(e.msg, "'second'") != NULL);
	EXPECT_EQ(snap_in_section(in, "second", 3, &e), 0);
	snap_get_u8(in);
	EXPECT_EQ(snap_in_end(in, &e), -EINVAL);
	EXPECT(strstr(e.msg, "unexpected bytes") != NULL);
	/* A string longer than the buffer is an overrun, not a truncation. */
	EXPECT_EQ(snap_in_section(in, "first", 1, &e), 0);
	snap_get_u8(in); snap_get_u16(in); snap_get_u32(in); snap_get_u64(in);
	char s[4];
	snap_get_str(in, s, sizeof s);
	EXPECT_EQ(snap_in_end(in, &e), -EINVAL);
	free(in);
	snap_out_free(&o);
}

TEST(snap_every_truncation_and_every_flipped_byte_is_refused)
{
	struct snap_out o;
	sample(&o);
	struct snap_in *in = malloc(sizeof *in);
	struct err e = {0};
	for (size_t n = 0; n < o.len; n++)
		EXPECT(snap_in_open(in, o.buf, n, "t", &e) < 0);
	for (size_t i = 0; i < o.len; i++) {
		o.buf[i] ^= 0x20;
		EXPECT(snap_in_open(in, o.buf, o.len, "t", &e) < 0);
		o.buf[i] ^= 0x20;
	}
	EXPECT_EQ(snap_in_open(in, o.buf, o.len, "t", &e), 0);
	free(in);
	snap_out_free(&o);
}

TEST(snap_newer_file_or_section_version_is_refused_by_name)
{
	struct snap_out o;
	sample(&o);
	struct snap_in *in = malloc(sizeof *in);
	struct err e = {0};
	EXPECT_EQ(snap_in_open(in, o.buf, o.len, "t", &e), 0);
	EXPECT_EQ(snap_in_section(in, "second", 2, &e), -EPROTONOSUPPORT);
	EXPECT(strstr(e.msg, "'second'") && strstr(e.msg, "newer"));
	EXPECT_EQ(snap_in_section(in, "third", 9, &e), -ENOENT);
	EXPECT(strstr(e.msg, "'third'") != NULL);
	o.buf[8] = 2;   /* format version 2 */
	EXPECT_EQ(snap_in_open(in, o.buf, o.len, "state", &e), -EPROTONOSUPPORT);
	EXPECT(strstr(e.msg, "state: format version 2 is newer") != NULL);
	o.buf[8] = 1;
	o.buf[12] = 'X';   /* another architecture */
	EXPECT_EQ(snap_in_open(in, o.buf, o.len, "state", &e), -EINVAL);
	EXPECT(strstr(e.msg, "architecture") != NULL);
	free(in);
	snap_out_free(&o);
}

TEST(snap_junk_after_the_end_and_duplicate_sections_are_refused)
{
	struct snap_out o;
	sample(&o);
	struct snap_in *in = malloc(sizeof *in);
	struct err e = {0};
	uint8_t *b = malloc(o.len + 1);
	memcpy(b, o.buf, o.len);
	b[o.len] = 0;
	EXPECT_EQ(snap_in_open(in, b, o.len + 1, "t", &e), -EINVAL);
	EXPECT(strstr(e.msg, "junk") != NULL);
	free(b);
	snap_out_free(&o);
	snap_out_init(&o);
	snap_begin(&o, "dup", 1);
	snap_end(&o);
	snap_begin(&o, "dup", 1);
	snap_end(&o);
	EXPECT_EQ(snap_out_finish(&o), 0);
	EXPECT_EQ(snap_in_open(in, o.buf, o.len, "t", &e), -EINVAL);
	EXPECT(strstr(e.msg, "twice") != NULL);
	free(in);
	snap_out_free(&o);
}

TEST(snap_misuse_of_the_writer_fails_finish)
{
	struct snap_out o;
	snap_out_init(&o);
	snap_begin(&o, "open", 1);
	EXPECT_EQ(snap_out_finish(&o), -EINVAL);
	snap_out_free(&o);
	snap_out_init(&o);
	snap_begin(&o, "a-name-that-is-far-too-long-for-a-section-header-of-47", 1);
	EXPECT_EQ(snap_out_finish(&o), -ENOMEM);
	snap_out_free(&o);
}
