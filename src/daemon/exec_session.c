/* See exec_session.h. */
#include "daemon/exec_session.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int on_frame(void *arg, unsigned type, const uint8_t *p, size_t len)
{
	struct exec_client *x = arg;
	switch (type) {
	case EXEC_STDIN:
		if (x->in_eof)
			return 0;   /* input after its end: nothing to give it to */
		if (len == 0) {
			x->in_eof = true;
			return 0;
		}
		memcpy(x->in + x->in_len, p, len);
		x->in_len += len;
		return 0;
	case EXEC_RESIZE:
		if (exec_frame_resize_get(p, len, &x->rows, &x->cols) < 0) {
			x->why = "a RESIZE frame out of range (rows and cols: 1 to 1000)";
			return -EPROTO;
		}
		x->resized = true;
		return 0;
	default:
		x->why = "a frame of a type a client does not send";
		return -EPROTO;
	}
}

static void feed(struct exec_client *x, const uint8_t *data, size_t n)
{
	if (exec_frame_feed(&x->rd, data, n, on_frame, x) < 0) {
		if (!x->why)
			x->why = "a frame longer than 65536 bytes";
		x->gone = true;
	}
}

/* The next piece of what came with the request, once in is empty. */
static void feed_early(struct exec_client *x)
{
	while (!x->gone && x->in_off == x->in_len && x->early_off < x->early_len) {
		size_t n = x->early_len - x->early_off < 8192 ? x->early_len - x->early_off : 8192;
		x->in_off = x->in_len = 0;
		feed(x, x->early + x->early_off, n);
		x->early_off += n;
	}
}

int exec_client_init(struct exec_client *x, int fd, int closing, const void *pending,
		     size_t pending_len)
{
	memset(x, 0, sizeof *x);
	x->fd = fd;
	x->closing = closing;
	x->rd.payload = malloc(EXEC_FRAME_MAX);
	x->in = malloc(2 * EXEC_FRAME_MAX + 8192);
	if (!x->rd.payload || !x->in) {
		exec_client_free(x);
		return -ENOMEM;
	}
	/* What came with the request is fed as if read: 8 KiB at a time, the
	 * next once the input before is taken (exec_client_took). */
	if (pending_len > 8192) {
		if (!(x->early = malloc(pending_len - 8192))) {
			exec_client_free(x);
			return -ENOMEM;
		}
		memcpy(x->early, (const uint8_t *)pending + 8192, pending_len - 8192);
		x->early_len = pending_len - 8192;
		pending_len = 8192;
	}
	feed(x, pending, pending_len);
	feed_early(x);
	return 0;
}

void exec_client_free(struct exec_client *x)
{
	free(x->rd.payload);
	free(x->in);
	free(x->early);
	x->rd.payload = NULL;
	x->in = NULL;
	x->early = NULL;
}

bool exec_client_wants_read(const struct exec_client *x)
{
	return !x->gone && x->in_off == x->in_len && x->early_off == x->early_len;
}

void exec_client_read(struct exec_client *x)
{
	/* One read at a time of at most 8 KiB: frames it completes add at most
	 * one whole frame plus those 8 KiB to in (see the buffer's size). */
	uint8_t buf[8192];
	x->in_off = x->in_len = 0;
	ssize_t n = recv(x->fd, buf, sizeof buf, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		x->gone = true;
		return;
	}
	feed(x, buf, (size_t)n);
}

void exec_client_took(struct exec_client *x, size_t n)
{
	x->in_off += n;
	if (x->in_off == x->in_len)
		x->in_off = x->in_len = 0;
	feed_early(x);
}

int exec_client_out(struct exec_client *x, unsigned stream, const void *p, size_t len)
{
	const uint8_t *b = p;
	while (len) {
		size_t k = len < EXEC_FRAME_MAX ? len : EXEC_FRAME_MAX;
		int rc = exec_frame_send(x->fd, stream, b, k);
		if (rc < 0) {
			x->gone = true;
			return rc;
		}
		b += k;
		len -= k;
	}
	return 0;
}

void exec_client_exit(struct exec_client *x, int status)
{
	uint8_t p[4];
	exec_frame_u32(p, (uint32_t)status);
	exec_frame_send(x->fd, EXEC_EXIT, p, sizeof p);
}

void exec_client_error(struct exec_client *x, const char *message)
{
	exec_frame_send(x->fd, EXEC_ERROR, message, strlen(message));
}
