/*
 * The host end of the guest agent channel (docs/guest-agent.md): speaks the
 * agent protocol (agent_proto.h) over the chardev of the org.nimbus.agent
 * port (virtio/named_port.h) to nimbus-agent in the guest.  The VM API
 * (vm_exec, vm_shutdown) and through it the control socket use it.
 *
 * Threads: requests come from any thread (control workers), each waiting for
 * its own reply; guest output arrives on the device's I/O thread, which
 * parses it line by line and completes the waiting request.  Up to
 * GUEST_AGENT_MAX_PENDING requests run at once.  When the guest closes the
 * port (the agent died, the VM was reset) or the VM ends (guest_agent_close),
 * every waiting request fails with -ECONNRESET.
 */
#ifndef NIMBUS_VMM_GUEST_AGENT_H
#define NIMBUS_VMM_GUEST_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "vmm/agent_proto.h"
#include "vmm/chardev.h"

#define GUEST_AGENT_MAX_PENDING 16

struct guest_agent;

int guest_agent_create(struct guest_agent **out, struct err *err);
/* After the device is gone. */
void guest_agent_destroy(struct guest_agent *ga);
/* The chardev to give the port device, and its open/close callback. */
struct chardev *guest_agent_chardev(struct guest_agent *ga);
void guest_agent_port_open(void *host, bool open);
/* Fails every waiting request and refuses new ones (the VM has ended). */
void guest_agent_close(struct guest_agent *ga);

/* True while the guest holds the port open (an agent is listening). */
bool guest_agent_connected(struct guest_agent *ga);
/* Protocol lines from the guest that did not parse, since creation. */
unsigned long guest_agent_bad_lines(struct guest_agent *ga);

/* A round trip; the agent's protocol version.  0, -ENOTCONN (no agent),
 * -ETIMEDOUT, -ECONNRESET. */
int guest_agent_ping(struct guest_agent *ga, int timeout_ms, unsigned *protocol,
		     struct err *err);

/* Asks the agent to power the guest off (reboot: to reboot it) and waits up
 * to wait_ms for its acknowledgement.  0, -ENOTCONN, -ETIMEDOUT. */
int guest_agent_poweroff(struct guest_agent *ga, bool reboot, int wait_ms, struct err *err);

struct guest_agent_exec {
	char *const *argv;            /* NULL-terminated, at least one */
	char *const *env;             /* NAME=VALUE added to the agent's; may be NULL */
	const char *cwd;              /* may be NULL */
	const void *stdin_data;       /* given whole, then end of file */
	size_t stdin_len;
	unsigned timeout_ms;          /* the guest kills the command then; 0 = never */
	size_t out_max;               /* bytes of stdout, and of stderr, kept */
	/* Optional: each piece of output as it arrives, in order (stream 1
	 * stdout, 2 stderr), instead of keeping it in the result.  Called on the
	 * device's I/O thread with the agent's lock held: it must not block or
	 * call into the agent. */
	void (*on_output)(void *ctx, unsigned stream, const uint8_t *data, size_t len);
	/* Optional, with on_output: false while the consumer cannot take more
	 * output (a slow reader).  The guest's output then stays in the port's
	 * queue, so the command's writes block in the guest, until the consumer
	 * calls guest_agent_output_ready.  This holds the whole port: every
	 * request's answers wait with it.  Called on the device's I/O thread with
	 * the agent's lock held, like on_output. */
	bool (*can_output)(void *ctx);
	void *ctx;
	/* On a terminal of rows x cols (1..1000 each) in the guest: stdin comes
	 * from guest_agent_input instead of stdin_data, stdout and stderr are
	 * the terminal's output (stream 1).  Needs on_output. */
	bool tty;
	unsigned rows, cols;
	/* Without a terminal: stdin a pipe fed by guest_agent_input (then its
	 * eof) instead of stdin_data, at the pace the command reads it.  Needs
	 * on_started and an agent that takes it (-ENOTSUP otherwise). */
	bool stdin_stream;
	/* Optional: called with the request's id once it is sent, for
	 * guest_agent_input/resize (the caller's thread, no lock held). */
	void (*on_started)(void *ctx, uint64_t id);
};

struct guest_agent_result {
	enum agent_exit_how how;      /* code, signal, or timeout (killed with `value`) */
	int value;
	char *out[2];                 /* stdout, stderr (malloc'ed, NUL-terminated) */
	size_t len[2];
	bool truncated[2];            /* more came than out_max */
};

/*
 * Runs argv in the guest and waits for it to end (the command's own timeout
 * plus a grace for the agent to report).  0 with *res filled (free it with
 * guest_agent_result_free), or -ENOTCONN (no agent), -E2BIG (the request
 * exceeds a protocol line), -ETIMEDOUT, -ECONNRESET (the agent went away),
 * -EAGAIN (too many requests at once), -EIO (the agent refused it: err has
 * its code and message, e.g. "no-such-file: uname: not found").
 */
int guest_agent_exec(struct guest_agent *ga, const struct guest_agent_exec *req,
		     struct guest_agent_result *res, struct err *err);
void guest_agent_result_free(struct guest_agent_result *res);

/*
 * Input for the terminal of tty exec `id` (as on_started gave it), or, with
 * eof, the end of it (a ^D).  Does not wait for the command.  For a
 * stdin_stream exec: its stdin, of any length, sent in acknowledged pieces;
 * it waits while 16 KiB the command has not read are on their way; eof
 * closes the pipe.  0, -ESRCH (no
 * such exec running), -E2BIG (more than a line carries: send less at a
 * time), -ENOTCONN, -ETIMEDOUT (the guest takes no input).
 */
int guest_agent_input(struct guest_agent *ga, uint64_t id, const void *data, size_t len,
		      bool eof, struct err *err);
/* A consumer whose can_output said false can take output again: the
 * device goes back to the guest's queue.  Any thread, no lock held. */
void guest_agent_output_ready(struct guest_agent *ga);

/* A new window size for tty exec `id`: the command gets SIGWINCH. */
int guest_agent_resize(struct guest_agent *ga, uint64_t id, unsigned rows, unsigned cols,
		       struct err *err);

#endif
