/* Unit tests for the WebSocket console pump (ws_console.c) over socket
 * pairs: a browser's frames reach the console as bytes, the console's bytes
 * reach the browser as binary frames, pings are answered, and each way of
 * ending closes with the right code. */
#include "daemon/ws_console.h"
#include "daemon/ws.h"
#include "lib/testing.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

struct rig {
	int browser, client;         /* the two ends of the WebSocket connection */
	int console, relay;          /* the console socket: the pump's end, the relay's */
	int closing;
	bool seqpacket;
	pthread_t t;
};

static void *pump(void *arg)
{
	struct rig *r = arg;
	ws_console_pump(r->client, r->console, r->seqpacket, r->closing, NULL, 0);
	return NULL;
}

static void rig_start(struct rig *r, bool seqpacket)
{
	int a[2], b[2];
	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a);
	socketpair(AF_UNIX, (seqpacket ? SOCK_SEQPACKET : SOCK_STREAM) | SOCK_CLOEXEC, 0, b);
	r->browser = a[0];
	r->client = a[1];
	r->console = b[0];
	r->relay = b[1];
	r->closing = eventfd(0, EFD_CLOEXEC);
	r->seqpacket = seqpacket;
	pthread_create(&r->t, NULL, pump, r);
}

/* Waits for the pump to end, then closes everything. */
static void rig_end(struct rig *r)
{
	pthread_join(r->t, NULL);
	close(r->browser);
	close(r->client);
	close(r->console);
	if (r->relay >= 0)
		close(r->relay);
	close(r->closing);
}

/* A masked client frame of op with payload p. */
static void browser_send(struct rig *r, uint8_t op, const char *p, size_t n)
{
	uint8_t f[256] = { (uint8_t)(0x80 | op), (uint8_t)(0x80 | n), 1, 2, 3, 4 };
	for (size_t i = 0; i < n; i++)
		f[6 + i] = (uint8_t)p[i] ^ f[2 + (i & 3)];
	send(r->browser, f, 6 + n, MSG_NOSIGNAL);
}

/* Reads exactly n bytes from fd (2 s at most); how many came. */
static size_t read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, 2000) <= 0)
			break;
		ssize_t k = recv(fd, (char *)buf + got, n - got, 0);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

TEST(ws_console_carries_typed_bytes_to_the_console_and_output_back_as_binary)
{
	struct rig r;
	rig_start(&r, false);
	browser_send(&r, WS_BINARY, "ls\n", 3);
	browser_send(&r, WS_TEXT, "pwd\n", 4);
	char in[8] = { 0 };
	EXPECT_EQ(read_n(r.relay, in, 7), 7);
	EXPECT(!memcmp(in, "ls\npwd\n", 7));
	send(r.relay, "hello", 5, 0);
	uint8_t out[7];
	EXPECT_EQ(read_n(r.browser, out, 7), 7);
	EXPECT_EQ(out[0], 0x82);     /* FIN, binary */
	EXPECT_EQ(out[1], 5);        /* unmasked, 5 bytes */
	EXPECT(!memcmp(out + 2, "hello", 5));
	close(r.relay);              /* the console ends: a normal close */
	r.relay = -1;
	uint8_t c[4];
	EXPECT_EQ(read_n(r.browser, c, 4), 4);
	EXPECT_EQ(c[0], 0x88);
	EXPECT_EQ(c[2] << 8 | c[3], WS_CLOSE_NORMAL);
	rig_end(&r);
}

TEST(ws_console_drops_conmons_stream_byte)
{
	struct rig r;
	rig_start(&r, true);
	send(r.relay, "\x02out", 4, 0);   /* conmon: stream 2 (stdout), then the bytes */
	uint8_t out[5];
	EXPECT_EQ(read_n(r.browser, out, 5), 5);
	EXPECT_EQ(out[1], 3);
	EXPECT(!memcmp(out + 2, "out", 3));
	browser_send(&r, WS_CLOSE, "\x03\xe8", 2);
	uint8_t c[4];
	EXPECT_EQ(read_n(r.browser, c, 4), 4);
	EXPECT_EQ(c[2] << 8 | c[3], 1000);   /* the client's code, echoed */
	rig_end(&r);
}

TEST(ws_console_answers_a_ping_with_its_payload)
{
	struct rig r;
	rig_start(&r, false);
	browser_send(&r, WS_PING, "abc", 3);
	uint8_t out[5];
	EXPECT_EQ(read_n(r.browser, out, 5), 5);
	EXPECT_EQ(out[0], 0x8a);
	EXPECT(!memcmp(out + 2, "abc", 3));
	uint64_t one = 1;
	EXPECT_EQ(write(r.closing, &one, sizeof one), 8);   /* the daemon stops */
	uint8_t c[4];
	EXPECT_EQ(read_n(r.browser, c, 4), 4);
	EXPECT_EQ(c[2] << 8 | c[3], WS_CLOSE_GOING_AWAY);
	rig_end(&r);
}

TEST(ws_console_closes_with_1002_on_an_unmasked_frame_and_types_nothing)
{
	struct rig r;
	rig_start(&r, false);
	send(r.browser, "\x82\x03rm!", 5, MSG_NOSIGNAL);
	uint8_t c[4];
	EXPECT_EQ(read_n(r.browser, c, 4), 4);
	EXPECT_EQ(c[2] << 8 | c[3], WS_CLOSE_PROTOCOL);
	pthread_join(r.t, NULL);
	char in[4];
	EXPECT_EQ(recv(r.relay, in, sizeof in, MSG_DONTWAIT), -1);   /* nothing was typed */
	EXPECT_EQ(errno, EAGAIN);
	close(r.browser);
	close(r.client);
	close(r.console);
	close(r.relay);
	close(r.closing);
}
