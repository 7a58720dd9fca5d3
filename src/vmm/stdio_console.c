/*
 * stdin/stdout console backend.  See stdio_console.h.
 *
 * One input thread polls stdin and a wake-up pipe.  A device whose receive
 * FIFO is full accepts fewer bytes; the rest waits here (and stdin is not
 * read meanwhile), retried every millisecond, so a paste never loses bytes.
 */
#include "vmm/stdio_console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define CTRL_A 0x01

struct stdio_console {
	struct chardev chr;
	int in_fd, out_fd;
	int wake[2];                 /* writing to wake[1] ends the input thread */
	bool is_tty, raw_set, started, in_escape;
	struct termios saved;
	pthread_t thread;
	void (*quit)(void *ctx);
	void *quit_ctx;
};

static void write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;   /* output closed: the guest keeps running, output is dropped */
		}
		buf += n;
		len -= (size_t)n;
	}
}

static void console_write(void *host, const uint8_t *buf, size_t len)
{
	struct stdio_console *c = host;
	write_all(c->out_fd, buf, len);
}

static bool wait_stop(struct stdio_console *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->wake[0], .events = POLLIN };
	return poll(&p, 1, timeout_ms) > 0;
}

/* Hands bytes to the device, waiting while its FIFO is full. false = stopping. */
static bool deliver(struct stdio_console *c, const uint8_t *buf, size_t len)
{
	while (len) {
		size_t n = c->chr.receive ? c->chr.receive(c->chr.dev, buf, len) : len;
		buf += n;
		len -= n;
		if (len && wait_stop(c, 1))
			return false;
	}
	return true;
}

static void print_help(struct stdio_console *c)
{
	static const char help[] =
		"\r\nC-a h    print this help\r\n"
		"C-a x    exit nimbus (the guest is stopped)\r\n"
		"C-a C-a  send C-a to the guest\r\n";
	write_all(c->out_fd, (const uint8_t *)help, sizeof help - 1);
}

/* Filters terminal input through the Ctrl-A escape; false = stopping. */
static bool handle_tty_input(struct stdio_console *c, const uint8_t *buf, size_t len)
{
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		if (!c->in_escape) {
			if (buf[i] == CTRL_A) {
				if (!deliver(c, buf + start, i - start))
					return false;
				c->in_escape = true;
				start = i + 1;
			}
			continue;
		}
		c->in_escape = false;
		start = i + 1;
		switch (buf[i]) {
		case 'x':
		case 'X':
			if (c->quit)
				c->quit(c->quit_ctx);
			return false;
		case CTRL_A:
			if (!deliver(c, &buf[i], 1))
				return false;
			break;
		case 'h':
		case 'H':
			print_help(c);
			break;
		default:
			break;   /* unknown escapes are swallowed, as QEMU does */
		}
	}
	return deliver(c, buf + start, len - start);
}

static void *input_thread(void *arg)
{
	struct stdio_console *c = arg;
	uint8_t buf[256];
	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->wake[0], .events = POLLIN },
			{ .fd = c->in_fd, .events = POLLIN },
		};
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t n = read(c->in_fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;   /* end of input: the guest keeps running */
		bool go = c->is_tty ? handle_tty_input(c, buf, (size_t)n)
				    : deliver(c, buf, (size_t)n);
		if (!go)
			break;
	}
	return NULL;
}

struct stdio_console *stdio_console_new(int in_fd, int out_fd,
					void (*quit)(void *ctx), void *ctx)
{
	struct stdio_console *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (pipe(c->wake) < 0) {
		free(c);
		return NULL;
	}
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->quit = quit;
	c->quit_ctx = ctx;
	c->chr.write = console_write;
	c->chr.host = c;
	c->is_tty = isatty(in_fd);
	return c;
}

struct chardev *stdio_console_chardev(struct stdio_console *c)
{
	return &c->chr;
}

int stdio_console_start(struct stdio_console *c)
{
	if (c->is_tty && tcgetattr(c->in_fd, &c->saved) == 0) {
		struct termios raw = c->saved;
		cfmakeraw(&raw);
		/* The guest's own tty layer sends \r\n; the host must not add more. */
		if (tcsetattr(c->in_fd, TCSANOW, &raw) == 0)
			c->raw_set = true;
	}
	int rc = pthread_create(&c->thread, NULL, input_thread, c);
	if (rc)
		return -rc;
	c->started = true;
	return 0;
}

void stdio_console_free(struct stdio_console *c)
{
	if (!c)
		return;
	if (c->started) {
		ssize_t ignored = write(c->wake[1], "", 1);
		(void)ignored;
		pthread_join(c->thread, NULL);
	}
	if (c->raw_set)
		tcsetattr(c->in_fd, TCSANOW, &c->saved);
	close(c->wake[0]);
	close(c->wake[1]);
	free(c);
}
