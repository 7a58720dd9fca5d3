/*
 * The host end of a VM's serial console on the process's own stdin/stdout.
 *
 * On a terminal, stdin goes to raw mode (restored on close) and Ctrl-A is an
 * escape key as in QEMU: Ctrl-A x quits, Ctrl-A h prints help, Ctrl-A Ctrl-A
 * sends a literal Ctrl-A.  With pipes (scripts, tests) bytes pass through
 * untouched and end of input just stops reading.
 */
#ifndef NIMBUS_VMM_STDIO_CONSOLE_H
#define NIMBUS_VMM_STDIO_CONSOLE_H

#include "vmm/chardev.h"

struct stdio_console;

/* `quit` is called (from the input thread) when the user types Ctrl-A x. */
struct stdio_console *stdio_console_new(int in_fd, int out_fd,
					void (*quit)(void *ctx), void *ctx);
/* The chardev to hand to the guest-facing device. */
struct chardev *stdio_console_chardev(struct stdio_console *c);
/* Starts forwarding input; call once a device has attached to the chardev. */
int stdio_console_start(struct stdio_console *c);
/* Stops the input thread, restores the terminal, frees. */
void stdio_console_free(struct stdio_console *c);

#endif
