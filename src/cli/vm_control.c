/*
 * `nimbus vm control [--json] SOCKET VERB [ARGS]`: the command-line client of
 * the control protocol (docs/control.md).  Sends one request, prints the
 * reply readably (or, with --json, as the raw line), and for `events` prints
 * the stream until the VM ends.  Exit status 0 for an ok reply, 1 for an
 * error reply or a VM that does not answer, 2 for usage.
 */
#include "cli/cli.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/vm_control.h"
#include "lib/size.h"

#define REPLY_TIMEOUT_MS 15000
#define SNAPSHOT_TIMEOUT_MS 600000

static const char usage[] =
	"Usage: nimbus vm control [--json] SOCKET VERB [ARGS]\n"
	"\n"
	"Send a request to a VM started with `nimbus vm run --control SOCKET`\n"
	"(the protocol is in docs/control.md; --json prints its raw replies).\n"
	"\n"
	"Verbs:\n"
	"  status                 state, vCPUs, memory, devices, uptime, exit reason\n"
	"  pause                  stop every vCPU and device; the guest's clock stops too\n"
	"  resume [--catch-up]    run again; --catch-up moves the guest's clock by the\n"
	"                         pause length instead of continuing where it stopped\n"
	"  stop                   end the VM now\n"
	"  shutdown [--timeout S] ask the guest to power off; stop it after S seconds\n"
	"                         (default 30)\n"
	"  reboot                 reset the VM, as a reset button\n"
	"  balloon SIZE           ask the guest to give SIZE of its RAM back to the host\n"
	"                         (needs --balloon; 0 returns it all to the guest)\n"
	"  balloon-stats          the balloon's size and the guest's memory statistics\n"
	"  snapshot DIR [--paused] [--incremental] [--disks]\n"
	"                         save the whole VM to directory DIR (docs/snapshot.md),\n"
	"                         pausing it meanwhile; --paused leaves it paused after;\n"
	"                         --incremental writes only the pages changed since the\n"
	"                         VM's last snapshot, which must stay in place; --disks\n"
	"                         saves the disks' contents too (DIR/disk0...), so the\n"
	"                         restore needs none of the VM's images;\n"
	"                         `nimbus vm run --restore DIR` continues from it\n"
	"  fork DIR [--count N] [--running]\n"
	"                         clone the running VM into N (default 1) children,\n"
	"                         each a paused process restored from one snapshot in DIR\n"
	"                         sharing its memory copy-on-write; prints one line per\n"
	"                         child with its control socket (resume it to run it;\n"
	"                         --running: they run at once).  A writable disk is\n"
	"                         frozen: the VM goes on over DIR.parent-diskI.qcow2,\n"
	"                         each child over DIR/child-N-diskI.qcow2\n"
	"  migrate URI [--downtime-ms MS] [--verify] [--copy-storage] [--postcopy] [--progress]\n"
	"                         move the running VM to a nimbus started with\n"
	"                         `vm run --incoming URI` and the same options\n"
	"                         (URI: unix:PATH or tcp:HOST:PORT); this VM then ends,\n"
	"                         or runs on if the migration fails; MS: what the last,\n"
	"                         paused round may take at the measured rate (default 30);\n"
	"                         --verify: the target compares a hash of every page with\n"
	"                         the source's and refuses the VM if one differs (costs\n"
	"                         downtime: hashing the RAM the guest has touched);\n"
	"                         --copy-storage: send the disks' contents too, into the\n"
	"                         target's own --disk images (writable, of the same sizes);\n"
	"                         --postcopy: the target runs the VM at once and fetches\n"
	"                         its pages as the guest touches them (short downtime\n"
	"                         whatever the guest writes; the VM is lost if the\n"
	"                         connection breaks before the last page went);\n"
	"                         --progress: each pre-copy round on stderr (pages sent\n"
	"                         and left, dirty rate, downtime expected), as on a terminal\n"
	"  rate-limit DEVICE [LIMIT]\n"
	"                         show or set a device's token-bucket limits: DEVICE is\n"
	"                         disk0.. (--disk order) or net0..; LIMIT is\n"
	"                         bw=RATE[:BURST],ops=RATE[:BURST] or none\n"
	"  exec [-t] [--timeout S] [--env NAME=VALUE]... [--cwd DIR] [--stdin] -- CMD [ARGS]\n"
	"                         run CMD in the guest through its agent (needs\n"
	"                         `vm run --agent` and nimbus-agent in the guest,\n"
	"                         docs/guest-agent.md): prints its stdout and stderr and\n"
	"                         exits with its status (128+N for signal N, 124 when\n"
	"                         killed after S seconds, default 60, 0 = no limit);\n"
	"                         --stdin sends this command's input (at most ~4 KB);\n"
	"                         -t runs it on a terminal in the guest, interactive:\n"
	"                         this terminal goes raw and is passed through\n"
	"  events                 print the VM's events as they happen, until it ends\n";

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path) {
		cli_error("vm control %s: path too long", path);
		return -2;
	}
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		cli_error("vm control %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Reads one line into a malloc'ed string; NULL at EOF or timeout (reported). */
static char *read_line(struct reader *r, const char *path, int timeout_ms)
{
	for (;;) {
		char *nl = r->len ? memchr(r->buf, '\n', r->len) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - r->buf);
			char *line = strndup(r->buf, n);
			r->len -= n + 1;
			memmove(r->buf, nl + 1, r->len);
			return line;
		}
		if (r->len >= MAX_REPLY) {
			cli_error("vm control %s: reply longer than %d bytes", path, MAX_REPLY);
			return NULL;
		}
		struct pollfd pf = { .fd = r->fd, .events = POLLIN };
		int p = poll(&pf, 1, timeout_ms);
		if (p < 0 && errno == EINTR)
			continue;
		if (p == 0) {
			cli_error("vm control %s: no reply within %d s", path, timeout_ms / 1000);
			return NULL;
		}
		char *nb = realloc(r->buf, MAX_REPLY + 1);
		if (!nb)
			return NULL;
		r->buf = nb;
		ssize_t n = read(r->fd, r->buf + r->len, MAX_REPLY - r->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return NULL;
		r->len += (size_t)n;
	}
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : "";
}

static void print_status(const cJSON *o)
{
	char sz[32];
	printf("state: %s\n", str(o, "state"));
	printf("vcpus: %.0f\n", num(o, "vcpus"));
	printf("memory: %s\n", format_size((uint64_t)num(o, "memory_bytes"), sz, sizeof sz));
	printf("uptime: %.1f s (paused %.1f s)\n", num(o, "uptime_ms") / 1000,
	       num(o, "paused_ms") / 1000);
	printf("guest time: %.3f s\n", num(o, "guest_time_ns") / 1e9);
	printf("instructions retired:");
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "instret"))
		printf(" %.0f", it->valuedouble);
	printf("\nreboots: %.0f\n", num(o, "reboots"));
	printf("devices:");
	bool first = true;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "devices")) {
		printf("%s %s", first ? "" : ",", cJSON_IsString(it) ? it->valuestring : "?");
		first = false;
	}
	printf("\n");
	const cJSON *ag = cJSON_GetObjectItemCaseSensitive(o, "agent");
	if (cJSON_IsObject(ag))
		printf("agent: %s\n", cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ag, "connected"))
				       ? "connected" : "not connected");
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(o, "shutdown_pending");
	if (cJSON_IsTrue(sp))
		printf("shutdown: pending\n");
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(o, "exit");
	if (cJSON_IsObject(ex)) {
		const char *m = str(ex, "message");
		printf("exit: %s%s%s\n", str(ex, "reason"), m[0] ? ": " : "", m);
	}
}

/* The old key=value form, which scripts (and tests/virtio) parse. */
static void print_balloon_stats(const cJSON *o)
{
	printf("ram=%.0f target=%.0f actual=%.0f inflated=%.0f reported=%.0f",
	       num(o, "ram_bytes"), num(o, "target_bytes"), num(o, "actual_bytes"),
	       num(o, "inflated_bytes"), num(o, "reported_bytes"));
	static const char *const g[][2] = { { "free_bytes", "free" }, { "total_bytes", "total" },
		{ "available_bytes", "available" }, { "caches_bytes", "caches" } };
	const cJSON *guest = cJSON_GetObjectItemCaseSensitive(o, "guest");
	for (unsigned i = 0; i < sizeof g / sizeof g[0]; i++)
		if (cJSON_GetObjectItemCaseSensitive(guest, g[i][0]))
			printf(" %s=%.0f", g[i][1], num(guest, g[i][0]));
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "stale")))
		printf(" stale=1");
	printf("\n");
}

static void print_event(const cJSON *o)
{
	double ns = num(o, "time_ns");
	time_t secs = (time_t)(ns / 1e9);
	struct tm tm;
	localtime_r(&secs, &tm);
	char when[32];
	strftime(when, sizeof when, "%H:%M:%S", &tm);
	const char *src = str(o, "source"), *detail = str(o, "detail");
	printf("%s.%03d %s%s%s%s%s\n", when, (int)((ns - (double)secs * 1e9) / 1e6),
	       str(o, "event"), src[0] || detail[0] ? " " : "", src, src[0] ? ": " : "", detail);
	fflush(stdout);
}

/* Prints an ok reply; 0, or 1 for an error reply (reported). */
static int show_reply(const char *verb, const char *line, bool json)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	if (!cJSON_IsBool(ok)) {
		cli_error("vm control: not a reply: %.200s", line);
		cJSON_Delete(o);
		return 1;
	}
	if (json)
		printf("%s\n", line);
	if (cJSON_IsFalse(ok)) {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		if (!json)
			cli_error("%s", str(e, "message"));
		cJSON_Delete(o);
		return 1;
	}
	if (json) {
		cJSON_Delete(o);
		return 0;
	}
	if (!strcmp(verb, "status")) {
		print_status(o);
	} else if (!strcmp(verb, "balloon-stats")) {
		print_balloon_stats(o);
	} else if (!strcmp(verb, "balloon")) {
		printf("target=%.0f\n", num(o, "target_bytes"));
	} else if (!strcmp(verb, "rate-limit")) {
		printf("%s %s\n", str(o, "device"), str(o, "limit"));
	} else if (!strcmp(verb, "pause") || !strcmp(verb, "resume")) {
		bool ch = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "changed"));
		printf("%s%s\n", ch ? "" : "already ", !strcmp(verb, "pause") ? "paused" : "running");
	} else if (!strcmp(verb, "snapshot")) {
		const cJSON *dk = cJSON_GetObjectItemCaseSensitive(o, "disk_bytes_written");
		char disks[64] = "";
		if (cJSON_IsNumber(dk))
			snprintf(disks, sizeof disks, ", disks %.1f MiB", dk->valuedouble / 1048576);
		printf("%s %s: state %.0f KiB, memory %.1f MiB written%s, guest paused %.1f ms\n",
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "incremental"))
		       ? "incremental snapshot" : "snapshot", str(o, "dir"), num(o, "state_bytes") / 1024,
		       num(o, "memory_bytes_written") / 1048576, disks, num(o, "pause_ms"));
	} else if (!strcmp(verb, "fork")) {
		const cJSON *k;
		bool running = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "running"));
		cJSON_ArrayForEach(k, cJSON_GetObjectItemCaseSensitive(o, "children"))
			printf("child pid %.0f: control %s, console %s (%s)\n", num(k, "pid"),
			       str(k, "control"), str(k, "console"), running ? "running" : "paused");
		const cJSON *mac = cJSON_GetObjectItemCaseSensitive(o, "guest_mac");
		if (cJSON_IsString(mac) && !strcmp(mac->valuestring, "kept"))
			printf("note: the children's guests keep this VM's MAC address (no --agent to "
			       "move them onto their own: a device cannot change it, docs/snapshot.md)\n");
	} else if (!strcmp(verb, "migrate")) {
		printf("migrated to %s: %.0f rounds, %.1f MiB sent, %.0f ms in total, "
		       "downtime %.1f ms\n", str(o, "uri"), num(o, "rounds"),
		       num(o, "bytes_sent") / 1048576, num(o, "total_ms"), num(o, "downtime_ms"));
	} else if (!strcmp(verb, "shutdown")) {
		printf("shutdown asked%s; stop in %.0f s unless the guest powers off\n",
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "via_agent"))
		       ? " (the guest agent took it)" : "", num(o, "timeout_ms") / 1000);
	} else if (strcmp(verb, "events")) {
		printf("ok\n");
	}
	cJSON_Delete(o);
	return 0;
}

/* Connects and sends the request line (malloc'ed, taken); the socket, or
 * minus the exit status (reported). */
static int send_request(const char *path, char *line)
{
	int fd = connect_to(path);
	if (fd < 0) {
		free(line);
		return fd == -2 ? -2 : -1;
	}
	size_t n = strlen(line);
	line[n] = '\n';   /* over the terminator: send n + 1 bytes */
	ssize_t w = send(fd, line, n + 1, MSG_NOSIGNAL);
	free(line);
	if (w != (ssize_t)(n + 1)) {
		cli_error("vm control %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* What vm_control_exec.c shares (vm_control.h). */
int vmc_connect(const char *path)
{
	return connect_to(path);
}

char *vmc_read_line(struct reader *r, const char *path, int timeout_ms)
{
	return read_line(r, path, timeout_ms);
}

int vmc_send_request(const char *path, char *line)
{
	return send_request(path, line);
}

double vmc_num(const cJSON *o, const char *k)
{
	return num(o, k);
}

const char *vmc_str(const cJSON *o, const char *k)
{
	return str(o, k);
}

int cmd_vm_control(int argc, char **argv)
{
	bool json = false, catch_up = false, paused = false, incremental = false, verify = false;
	bool copy_storage = false, disks = false, postcopy = false, progress = false;
	bool running = false;
	long count = 0, downtime = 0;
	double timeout_s = -1;
	const char *pos[4] = { 0 };
	unsigned npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = true;
		} else if (!strcmp(a, "--catch-up")) {
			catch_up = true;
		} else if (!strcmp(a, "--paused")) {
			paused = true;
		} else if (!strcmp(a, "--incremental")) {
			incremental = true;
		} else if (!strcmp(a, "--verify")) {
			verify = true;
		} else if (!strcmp(a, "--copy-storage")) {
			copy_storage = true;
		} else if (!strcmp(a, "--postcopy")) {
			postcopy = true;
		} else if (!strcmp(a, "--progress")) {
			progress = true;
		} else if (!strcmp(a, "--disks")) {
			disks = true;
		} else if (!strcmp(a, "--running")) {
			running = true;
		} else if (!strcmp(a, "--downtime-ms")) {
			char *end;
			if (i + 1 >= argc || (downtime = strtol(argv[i + 1], &end, 10), *end) ||
			    downtime < 1 || downtime > 60000) {
				cli_error("vm control: --downtime-ms: needs a number from 1 to 60000");
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--count")) {
			char *end;
			if (i + 1 >= argc || (count = strtol(argv[i + 1], &end, 10), *end) ||
			    count < 1 || count > 16) {
				cli_error("vm control: --count: needs a number from 1 to 16");
				return 2;
			}
			i++;
		} else if (!strcmp(a, "--timeout")) {
			char *end;
			if (i + 1 >= argc || (timeout_s = strtod(argv[i + 1], &end), *end) ||
			    !(timeout_s >= 0 && timeout_s <= 3600)) {
				cli_error("vm control: --timeout: needs seconds, 0 to 3600");
				return 2;
			}
			i++;
		} else if (npos == 1 && !strcmp(a, "exec")) {
			return vmc_exec(pos[0], json, argc - i - 1, argv + i + 1);
		} else if (a[0] == '-' && a[1] == '-') {
			cli_error("vm control: %s: unknown option (try --help)", a);
			return 2;
		} else if (npos < 4) {
			pos[npos++] = a;
		} else {
			cli_error("vm control: %s: too many arguments (try --help)", a);
			return 2;
		}
	}
	if (npos < 2) {
		cli_error("vm control: need SOCKET and VERB (try --help)");
		return 2;
	}
	const char *path = pos[0], *verb = pos[1], *arg = pos[2];
	bool rate_limit = !strcmp(verb, "rate-limit");
	bool takes_arg = !strcmp(verb, "balloon") || !strcmp(verb, "snapshot") ||
			 !strcmp(verb, "migrate") || !strcmp(verb, "fork") || rate_limit;
	if (pos[3] && !rate_limit) {
		cli_error("vm control: %s: too many arguments (try --help)", pos[3]);
		return 2;
	}
	if (takes_arg != (arg != NULL)) {
		cli_error(takes_arg ? "vm control: %s: needs an argument (try --help)"
				    : "vm control: %s: takes no argument (try --help)", verb);
		return 2;
	}
	if ((catch_up && strcmp(verb, "resume")) || (timeout_s >= 0 && strcmp(verb, "shutdown")) ||
	    ((paused || incremental || disks) && strcmp(verb, "snapshot")) ||
	    ((count || running) && strcmp(verb, "fork")) ||
	    ((downtime || verify || copy_storage || postcopy || progress) &&
	     strcmp(verb, "migrate"))) {
		cli_error("vm control: %s: option not for this verb (try --help)",
			  catch_up ? "--catch-up" : timeout_s >= 0 ? "--timeout"
			  : paused ? "--paused" : incremental ? "--incremental" : disks ? "--disks"
			  : count ? "--count" : running ? "--running" : downtime ? "--downtime-ms" : verify ? "--verify"
			  : copy_storage ? "--copy-storage" : postcopy ? "--postcopy" : "--progress");
		return 2;
	}
	/* The VM resolves paths from its own working directory, not ours. */
	char dir[PATH_MAX];
	if (!strcmp(verb, "snapshot") || !strcmp(verb, "fork")) {
		if (arg[0] == '/') {
			snprintf(dir, sizeof dir, "%s", arg);
		} else {
			char cwd[PATH_MAX];
			if (!getcwd(cwd, sizeof cwd) ||
			    snprintf(dir, sizeof dir, "%s/%s", cwd, arg) >= (int)sizeof dir) {
				cli_error("vm control: snapshot %s: cannot make the path absolute", arg);
				return 2;
			}
		}
	}

	/* Unknown verbs go to the VM, which names the ones it knows. */
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "verb", verb);
	if (arg && rate_limit) {
		cJSON_AddStringToObject(req, "device", arg);
		if (pos[3])
			cJSON_AddStringToObject(req, "limit", pos[3]);
	} else if (arg && !strcmp(verb, "snapshot")) {
		cJSON_AddStringToObject(req, "dir", dir);
		if (paused)
			cJSON_AddTrueToObject(req, "paused");
		if (incremental)
			cJSON_AddTrueToObject(req, "incremental");
		if (disks)
			cJSON_AddTrueToObject(req, "disks");
	} else if (arg && !strcmp(verb, "fork")) {
		cJSON_AddStringToObject(req, "dir", dir);
		if (count)
			cJSON_AddNumberToObject(req, "count", (double)count);
		if (running)
			cJSON_AddTrueToObject(req, "running");
	} else if (arg && !strcmp(verb, "migrate")) {
		cJSON_AddStringToObject(req, "uri", arg);
		if (downtime)
			cJSON_AddNumberToObject(req, "downtime_ms", (double)downtime);
		if (verify)
			cJSON_AddTrueToObject(req, "verify");
		if (copy_storage)
			cJSON_AddTrueToObject(req, "copy_storage");
		if (postcopy)
			cJSON_AddTrueToObject(req, "postcopy");
	} else if (arg) {
		cJSON_AddStringToObject(req, "size", arg);
	}
	if (catch_up)
		cJSON_AddTrueToObject(req, "catch_up");
	if (timeout_s >= 0)
		cJSON_AddNumberToObject(req, "timeout_ms", (double)(long long)(timeout_s * 1000));
	char *line = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!line) {
		cli_error("vm control: out of memory");
		return 1;
	}

	/* Kept to ask again with a connection passed (a sandboxed VMM). */
	cJSON *again = !strcmp(verb, "migrate") ? cJSON_Parse(line) : NULL;
	/* Its rounds on the terminal, or when asked. */
	struct vmc_progress *watch = again && (progress || isatty(STDERR_FILENO))
				     ? vmc_progress_start(path) : NULL;
	int fd = send_request(path, line);
	if (fd < 0) {
		vmc_progress_stop(watch);
		cJSON_Delete(again);
		return -fd;
	}
	struct reader r = { .fd = fd };
	/* A snapshot writes all of guest RAM: give it time. */
	char *reply = read_line(&r, path, strcmp(verb, "snapshot") && strcmp(verb, "migrate") &&
					  strcmp(verb, "fork")
					  ? REPLY_TIMEOUT_MS : SNAPSHOT_TIMEOUT_MS);
	/* A sandboxed VMM opens no file and connects nowhere: then pass it ours. */
	if (reply && !strcmp(verb, "migrate")) {
		cJSON *o = cJSON_Parse(reply);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		if (!strcmp(str(e, "code"), "sandboxed") && again) {
			free(reply);
			reply = vmc_migrate_over_passed_conn(path, again);
		}
		cJSON_Delete(o);
	}
	vmc_progress_stop(watch);
	cJSON_Delete(again);
	if (reply && !strcmp(verb, "snapshot")) {
		cJSON *o = cJSON_Parse(reply);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		if (!strcmp(str(e, "code"), "sandboxed")) {
			free(reply);
			reply = vmc_snapshot_into_passed_files(path, dir, "snapshot", paused,
							       incremental, disks);
		}
		cJSON_Delete(o);
	}
	if (reply && !strcmp(verb, "fork")) {
		cJSON *o = cJSON_Parse(reply);
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "error");
		if (!strcmp(str(e, "code"), "sandboxed")) {
			free(reply);
			reply = vmc_fork_started_here(path, dir, count ? (unsigned)count : 1,
						      running);
		}
		cJSON_Delete(o);
	}
	int status = 1;
	if (!reply) {
		if (!r.len)
			cli_error("vm control %s: no reply", path);
	} else {
		status = show_reply(verb, reply, json);
		fflush(stdout);   /* before a stream: a reader may wait for this line */
		free(reply);
	}
	if (status == 0 && !strcmp(verb, "events")) {
		char *ev;
		while ((ev = read_line(&r, path, -1))) {
			if (json) {
				printf("%s\n", ev);
				fflush(stdout);
			} else {
				cJSON *o = cJSON_Parse(ev);
				if (cJSON_GetObjectItemCaseSensitive(o, "event"))
					print_event(o);
				cJSON_Delete(o);
			}
			free(ev);
		}
	}
	free(r.buf);
	close(fd);
	return status;
}
