/* See ws_console.h. */
#include "daemon/ws_console.h"
#include "daemon/ws.h"
#include "lib/io.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

struct pump {
	int client, console;
	bool done;
	unsigned peer_close;        /* the code of the client's close, 0 if none */
};

static int send_frame(int fd, enum ws_opcode op, const void *p, size_t n)
{
	uint8_t head[WS_FRAME_HEADER_MAX];
	size_t k = ws_frame_header(head, op, n);
	int rc = io_send_all(fd, head, k);
	return rc == 0 && n ? io_send_all(fd, p, n) : rc;
}

static void send_close(int fd, unsigned code)
{
	uint8_t c[4];
	io_send_all(fd, c, ws_close_frame(c, code));
}

static void to_console(void *ctx, const uint8_t *p, size_t n)
{
	struct pump *x = ctx;
	if (!x->done && io_send_all(x->console, p, n) < 0)
		x->done = true;
}

static void pong(void *ctx, const uint8_t *p, size_t n)
{
	struct pump *x = ctx;
	if (send_frame(x->client, WS_PONG, p, n) < 0)   /* section 5.5.3 */
		x->done = true;
}

static void closed(void *ctx, unsigned code)
{
	struct pump *x = ctx;
	x->peer_close = code;
	x->done = true;
}

/* What the client sent; false when the connection should end. */
static bool from_client(struct pump *x, struct ws_decoder *d, const uint8_t *buf, size_t n)
{
	struct ws_handler h = { to_console, pong, closed, x };
	struct err e = { 0 };
	if (ws_feed(d, buf, n, &h, &e) < 0) {
		send_close(x->client, d->close_code);
		return false;
	}
	if (x->peer_close) {
		/* section 5.5.1: echo the code (1005 means none was given) */
		send_close(x->client, x->peer_close == 1005 ? WS_CLOSE_NORMAL : x->peer_close);
		return false;
	}
	return !x->done;
}

void ws_console_pump(int client, int console, bool seqpacket, int closing, const char *pending,
		     size_t pending_len)
{
	struct pump x = { .client = client, .console = console };
	struct ws_decoder d;
	ws_decoder_init(&d);
	if (pending_len && !from_client(&x, &d, (const uint8_t *)pending, pending_len))
		return;
	uint8_t buf[8192];
	for (;;) {
		struct pollfd pf[3] = { { .fd = client, .events = POLLIN },
					{ .fd = console, .events = POLLIN },
					{ .fd = closing, .events = POLLIN } };
		if (poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[2].revents) {
			send_close(client, WS_CLOSE_GOING_AWAY);
			return;
		}
		if (pf[0].revents) {
			ssize_t n = recv(client, buf, sizeof buf, MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return;
			if (n > 0 && !from_client(&x, &d, buf, (size_t)n))
				return;
		}
		if (pf[1].revents) {
			ssize_t n = recv(console, buf, sizeof buf, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0) {
				send_close(client, WS_CLOSE_NORMAL);   /* the console ended */
				return;
			}
			size_t skip = seqpacket ? 1 : 0;
			if ((size_t)n > skip &&
			    send_frame(client, WS_BINARY, buf + skip, (size_t)n - skip) < 0)
				return;
		}
	}
}
