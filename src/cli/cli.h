/*
 * The `nimbus` command: one file per verb, each parsing its own flags and
 * calling the library.  Exit status: 0 success, 1 runtime failure, 2 bad
 * usage or input; a VM's own exit status passes through `vm run`.
 */
#ifndef NIMBUS_CLI_CLI_H
#define NIMBUS_CLI_CLI_H

#include <stddef.h>

#define NIMBUS_VERSION "0.1.0"

/* Prints "nimbus: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Where the default guest's Image and initramfs live (see guest/README.md). */
const char *cli_default_guest_dir(char *buf, unsigned long len);

/* The default guest's persistent root disk, made from guest_dir's
 * rootfs.ext4 on first use; NULL (reported) on failure. */
const char *cli_default_root_disk(const char *guest_dir, char *buf, size_t len);

int cmd_vm_run(int argc, char **argv);
int cmd_vm_control(int argc, char **argv);

#endif
