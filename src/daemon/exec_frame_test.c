#include "daemon/exec_frame.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

struct seen {
	unsigned types[8];
	size_t lens[8];
	uint8_t last[16];
	int n;
	int stop_after;              /* 0: never */
};

static int on_frame(void *arg, unsigned type, const uint8_t *p, size_t len)
{
	struct seen *s = arg;
	if (s->n < 8) {
		s->types[s->n] = type;
		s->lens[s->n] = len;
	}
	memcpy(s->last, p, len < sizeof s->last ? len : sizeof s->last);
	s->n++;
	return s->stop_after && s->n == s->stop_after ? 7 : 0;
}

static size_t frame(uint8_t *out, unsigned type, const char *p, size_t len)
{
	exec_frame_header(out, type, len);
	memcpy(out + EXEC_FRAME_HEADER, p, len);
	return EXEC_FRAME_HEADER + len;
}

TEST(exec_frame_reader_takes_frames_split_byte_by_byte)
{
	static uint8_t payload[EXEC_FRAME_MAX];
	struct exec_frame_reader r = { .payload = payload };
	struct seen s = { 0 };
	uint8_t buf[64];
	size_t n = frame(buf, EXEC_STDIN, "hello", 5);
	n += frame(buf + n, EXEC_STDIN, "", 0);
	for (size_t i = 0; i < n; i++)
		EXPECT_EQ(exec_frame_feed(&r, buf + i, 1, on_frame, &s), 0);
	EXPECT_EQ(s.n, 2);
	EXPECT_EQ(s.lens[0], 5);
	EXPECT_EQ(s.lens[1], 0);
	EXPECT(!memcmp(s.last, "hello", 5));
}

TEST(exec_frame_reader_refuses_a_frame_longer_than_the_maximum)
{
	static uint8_t payload[EXEC_FRAME_MAX];
	struct exec_frame_reader r = { .payload = payload };
	struct seen s = { 0 };
	uint8_t head[EXEC_FRAME_HEADER];
	exec_frame_header(head, EXEC_STDIN, EXEC_FRAME_MAX + 1);
	EXPECT_EQ(exec_frame_feed(&r, head, sizeof head, on_frame, &s), -EPROTO);
	EXPECT_EQ(s.n, 0);
}

TEST(exec_frame_callback_can_stop_the_feed)
{
	static uint8_t payload[EXEC_FRAME_MAX];
	struct exec_frame_reader r = { .payload = payload };
	struct seen s = { .stop_after = 1 };
	uint8_t buf[64];
	size_t n = frame(buf, EXEC_STDIN, "a", 1);
	n += frame(buf + n, EXEC_STDIN, "b", 1);
	EXPECT_EQ(exec_frame_feed(&r, buf, n, on_frame, &s), 7);
	EXPECT_EQ(s.n, 1);
}

TEST(exec_frame_resize_round_trips_and_refuses_out_of_range)
{
	uint8_t p[4];
	unsigned rows, cols;
	exec_frame_resize_put(p, 40, 132);
	EXPECT_EQ(exec_frame_resize_get(p, 4, &rows, &cols), 0);
	EXPECT_EQ(rows, 40);
	EXPECT_EQ(cols, 132);
	exec_frame_resize_put(p, 0, 80);
	EXPECT_EQ(exec_frame_resize_get(p, 4, &rows, &cols), -EINVAL);
	exec_frame_resize_put(p, 24, 1001);
	EXPECT_EQ(exec_frame_resize_get(p, 4, &rows, &cols), -EINVAL);
	EXPECT_EQ(exec_frame_resize_get(p, 3, &rows, &cols), -EINVAL);
	exec_frame_u32(p, 0x01020304);
	EXPECT_EQ(exec_frame_get_u32(p), 0x01020304);
}
