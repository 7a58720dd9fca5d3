/*
 * The daemon's end of an interactive exec (exec_frame.h), shared by the two
 * drivers' exec_stream (ctr_exec_stream.c, vmm_exec_stream.c): it reads the
 * client's frames into plain state the driver acts on, so a driver only
 * moves bytes between this and its command.
 *
 * Input is flow-controlled: the client's connection is read only once the
 * driver has passed on (exec_client_took) all the input read before, so a
 * command that reads slowly slows its client down instead of making the
 * daemon hold its input.  At most 2 x EXEC_FRAME_MAX bytes wait here, besides
 * what came along with the request itself (fed 8 KiB at a time).
 */
#ifndef NIMBUS_DAEMON_EXEC_SESSION_H
#define NIMBUS_DAEMON_EXEC_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/exec_frame.h"

struct exec_client {
	int fd;                      /* the upgraded connection */
	int closing;                 /* readable once the daemon stops */
	struct exec_frame_reader rd;
	uint8_t *in;                 /* input read, not yet taken: in[in_off, in_len) */
	size_t in_off, in_len;
	bool in_eof;                 /* the client ended its input (all of in before it) */
	bool gone;                   /* the client closed, broke the protocol, or the daemon stops */
	bool resized;                /* rows, cols: a window size not yet applied */
	unsigned rows, cols;
	const char *why;             /* why gone, for the daemon's log; NULL: it closed */
	uint8_t *early;              /* bytes that came with the request, not yet fed */
	size_t early_off, early_len;
};

/* Starts x on fd with the bytes that came along with the request.  -ENOMEM. */
int exec_client_init(struct exec_client *x, int fd, int closing, const void *pending,
		     size_t pending_len);
void exec_client_free(struct exec_client *x);

/* Whether to poll x->fd for input now (all earlier input was taken). */
bool exec_client_wants_read(const struct exec_client *x);
/* Reads what is there (call when x->fd is readable) into x. */
void exec_client_read(struct exec_client *x);
/* The driver passed n bytes of x's input on. */
void exec_client_took(struct exec_client *x, size_t n);

/* Output to the client (0 or -errno: it went away); the exit status or an
 * error message, which end the session. */
int exec_client_out(struct exec_client *x, unsigned stream, const void *p, size_t len);
void exec_client_exit(struct exec_client *x, int status);
void exec_client_error(struct exec_client *x, const char *message);

#endif
