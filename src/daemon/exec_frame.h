/*
 * The framing of an interactive exec (`POST /1.0/instances/NAME/exec` with
 * `Upgrade: nimbus-exec`, docs/daemon.md): after the 101 both sides send
 * frames of a type byte, a 4-byte big-endian payload length and the payload
 * (at most EXEC_FRAME_MAX bytes).  Frames keep stdout, stderr and the exit
 * status apart on one connection and let the client end its input while
 * still reading output, which raw bytes cannot.
 *
 * Client to daemon: STDIN (data; an empty one ends the input), RESIZE (rows
 * and cols, big-endian u16 each, 1 to 1000).  Daemon to client: STDOUT,
 * STDERR, then exactly one EXIT (the status as a big-endian u32: 0-255,
 * 128+N after signal N) or ERROR (a one-line message), after which the
 * daemon closes.  A frame of another type, or longer than EXEC_FRAME_MAX, is
 * a protocol error and ends the session.
 *
 * The reader takes bytes as they come in pieces of any size; nothing here
 * does I/O but exec_frame_send.
 */
#ifndef NIMBUS_DAEMON_EXEC_FRAME_H
#define NIMBUS_DAEMON_EXEC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define EXEC_UPGRADE "nimbus-exec"
#define EXEC_FRAME_MAX 65536
#define EXEC_FRAME_HEADER 5

enum exec_frame_type {
	EXEC_STDIN = 0,
	EXEC_STDOUT = 1,
	EXEC_STDERR = 2,
	EXEC_EXIT = 3,
	EXEC_ERROR = 4,
	EXEC_RESIZE = 5,
};

struct exec_frame_reader {
	uint8_t head[EXEC_FRAME_HEADER];
	size_t head_have;
	uint8_t *payload;            /* EXEC_FRAME_MAX bytes, the caller's */
	size_t len, have;
};

/* Feeds n bytes of data to r.  Each time a whole frame has arrived, calls
 * on_frame(arg, type, payload, len); a non-zero return from it stops the
 * feed and is returned.  Returns 0 when all n bytes were taken, -EPROTO on
 * a frame longer than EXEC_FRAME_MAX. */
int exec_frame_feed(struct exec_frame_reader *r, const uint8_t *data, size_t n,
		    int (*on_frame)(void *arg, unsigned type, const uint8_t *p, size_t len),
		    void *arg);

/* Writes the header of a frame of type and len into out. */
void exec_frame_header(uint8_t out[EXEC_FRAME_HEADER], unsigned type, size_t len);

/* Sends one frame on fd (a socket); 0 or -errno. */
int exec_frame_send(int fd, unsigned type, const void *p, size_t len);

/* An EXIT frame's payload, and back; a RESIZE frame's, and back (-EINVAL
 * when it is not 4 bytes or a size is out of 1-1000). */
void exec_frame_u32(uint8_t out[4], uint32_t v);
uint32_t exec_frame_get_u32(const uint8_t p[4]);
int exec_frame_resize_get(const uint8_t *p, size_t len, unsigned *rows, unsigned *cols);
void exec_frame_resize_put(uint8_t out[4], unsigned rows, unsigned cols);

#endif
