/*
 * The `nimbus` command: one file per verb, each parsing its own flags and
 * calling the library.  Exit status: 0 success, 1 runtime failure, 2 bad
 * usage or input; a VM's own exit status passes through `vm run`.
 */
#ifndef NIMBUS_CLI_CLI_H
#define NIMBUS_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>

#define NIMBUS_VERSION "0.1.0"

/* Prints "nimbus: <message>" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes all n bytes (retrying short writes and EINTR); -1 on an error. */
int cli_write_all(int fd, const void *p, size_t n);

/* Warns (one line naming what asked for merging) when the kernel's
 * same-page merging is off: --mem-merge then merges nothing. */
void cli_warn_if_ksm_off(const char *what);

/* Where the default guest's Image and initramfs live (see guest/README.md). */
const char *cli_default_guest_dir(char *buf, unsigned long len);

/* The default guest's persistent root disk, made from guest_dir's
 * rootfs.ext4 on first use; NULL (reported) on failure. */
const char *cli_default_root_disk(const char *guest_dir, char *buf, size_t len);

int cmd_vm_run(int argc, char **argv);
int cmd_vm_control(int argc, char **argv);
int cmd_daemon(int argc, char **argv);
int cmd_launch(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_logs(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_image(int argc, char **argv);
int cmd_image_import_helper(int argc, char **argv);
int cmd_console_relay(int argc, char **argv);
int cmd_console(int argc, char **argv);
int cmd_project(int argc, char **argv);
int cmd_token(int argc, char **argv);
int cmd_network(int argc, char **argv);
int cmd_rule(int argc, char **argv);
int cmd_volume(int argc, char **argv);
int cmd_usage(int argc, char **argv);
int cmd_placement(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_move(int argc, char **argv);

/* Daemon-backed verbs (remote.c).  cli_call sends one request to the
 * daemon at sock (NULL: $NIMBUS_SOCKET or the default) and returns the exit
 * status: 0, or 1/2 with the daemon's error printed as "nimbus: VERB: ...". */
struct cJSON;
int cli_call(const char *verb, const char *sock, const char *method, const char *path,
	     const struct cJSON *body, struct cJSON **reply);
/* `nimbus image private NAME PROJECT | public NAME` (image_owner.c). */
int cli_image_owner(const char *sock, const char *sub, int nargs, char **args);
bool cli_is_help(const char *arg);
const char *cli_json_str(const struct cJSON *o, const char *key);
long long cli_json_num(const struct cJSON *o, const char *key);
/* --format: "table" or "json" (*json); 2 (printed) for anything else. */
int cli_format(const char *cmd, const char *format, bool *json);
/* A verb whose options are only --socket, --format and --help, then a
 * sub-verb (list, create, ...; `verbs` names them for the error): -1 with
 * *sock, *json and *sub set and optind past the sub-verb, else the exit status. */
/* --socket, --format table|json and --help, then the arguments from optind:
 * -1 to go on, else the exit status (0 after --help). */
int cli_socket_format(const char *cmd, const char *usage, int argc, char **argv,
		      const char **sock, bool *json);
int cli_subverb(const char *cmd, const char *usage, const char *verbs, int argc, char **argv,
		const char **sock, bool *json, const char **sub);
/* stop and restart (verb is also the API's action): options, then each NAME. */
int cli_stop_verb(const char *verb, const char *usage, int argc, char **argv);
/* Follows the operation op (a 202's body) until it ends, drawing its
 * progress on stderr (a bar on a terminal, a line per stage otherwise;
 * nothing if quiet): 0 once it succeeded, 1 (its error printed) if not. */
int cli_wait_operation(const char *verb, const char *sock, const struct cJSON *op, bool quiet);
/* "/1.0/NOUNs/NAME" + suffix into buf, with ?project= from project or
 * $NIMBUS_PROJECT (the host admin's choice among projects); 2 (printed)
 * for a bad name. */
int cli_named_path(const char *verb, const char *noun, const char *name, const char *suffix,
		   const char *project, char *buf, size_t len);
/* "/1.0/instances/NAME" + suffix into buf; 2 (printed) for a bad name. */
int cli_instance_path(const char *verb, const char *name, const char *suffix, char *buf,
		      size_t len);

#endif
