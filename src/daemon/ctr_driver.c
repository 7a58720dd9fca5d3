/*
 * Containers: nimbus-runtime supervised by Debian's conmon, as Podman does.
 * conmon runs `nimbus-runtime create`, then stays as the container's parent:
 * it holds its stdio (written to console.log in the k8s log format), reaps it
 * and writes its exit status to exits/NAME.  It daemonizes, so it survives
 * the daemon; conmon alive means the container is running.  The runtime's
 * state lives in state_dir/runtime, apart from any other user of the runtime.
 *
 * The root filesystem is an overlayfs mounted at DIR/rootfs: the image's
 * directory (shared by every container of that image, never written) under
 * the container's own writable layer DIR/upper, which lasts until the
 * container is deleted.  It is mounted for each start and unmounted after
 * each stop.  (Layered OCI images will give more lower layers.)
 *
 * conmon also serves the container's stdio on DIR/attach (SOCK_SEQPACKET:
 * each message read is a stream byte, 1 stdout or 2 stderr, then data;
 * what is written goes to its stdin, a pipe kept open across attaches):
 * that is the container's console.
 *
 * conmon reports the created container's pid (or the runtime's error)
 * through the pipe named by _OCI_SYNCPIPE as `{"data": PID}` or
 * `{"data": -1, "message": "..."}`; that is how an error of the runtime
 * reaches the API.
 */
#include "daemon/ctr_config.h"
#include "daemon/driver.h"
#include "daemon/fsutil.h"
#include "daemon/logs.h"
#include "daemon/proc.h"
#include "daemon/request.h"
#include "daemon/watch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define RUNTIME_TIMEOUT_MS 20000

int instance_path(const struct driver_ctx *c, const char *name, const char *leaf,
		  char *buf, unsigned long len, struct err *e)
{
	int n = snprintf(buf, len, "%s/instances/%s%s%s", c->state_dir, name,
			 leaf ? "/" : "", leaf ? leaf : "");
	if (n < 0 || (unsigned long)n >= len)
		return err_set(e, -ENAMETOOLONG, "instance \"%s\": state path too long", name);
	return 0;
}

/* Runs `nimbus-runtime --root STATE/runtime ARGS...`; its output goes to out. */
static int runtime(const struct driver_ctx *c, char *out, size_t outlen, struct err *e,
		   const char *a1, const char *a2, const char *a3, const char *a4)
{
	char root[4096];
	snprintf(root, sizeof root, "%s/runtime", c->state_dir);
	char *argv[] = { (char *)c->runtime, "--root", root, (char *)a1, (char *)a2,
			 (char *)a3, (char *)a4, NULL };
	return proc_run(argv, RUNTIME_TIMEOUT_MS, out, outlen, e);
}

static void strip(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = 0;
}

/* Reads conmon's one sync message; the created pid or -errno with e set. */
static int read_sync(int fd, const char *name, const char *conlog, struct err *e)
{
	char buf[4096];
	size_t have = 0;
	while (have + 1 < sizeof buf) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int r = poll(&pf, 1, RUNTIME_TIMEOUT_MS);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return err_set(e, -ETIMEDOUT, "container \"%s\": conmon did not report "
				       "within %d s", name, RUNTIME_TIMEOUT_MS / 1000);
		ssize_t n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		if (memchr(buf, '\n', have) || memchr(buf, '}', have))
			break;
	}
	buf[have] = 0;
	cJSON *j = cJSON_Parse(buf);
	cJSON *data = cJSON_GetObjectItemCaseSensitive(j, "data");
	cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
	int rc;
	if (cJSON_IsNumber(data) && data->valuedouble > 0) {
		rc = (int)data->valuedouble;
	} else if (cJSON_IsString(msg)) {
		char m[400];
		snprintf(m, sizeof m, "%s", msg->valuestring);
		strip(m);
		rc = err_set(e, -EIO, "container \"%s\": %s", name, m);
	} else {
		/* Its log goes with the instance when a launch fails: quote it. */
		char tail[8192] = "";
		ssize_t n = read_file(conlog, tail, sizeof tail);
		strip(tail);
		char *last = n > 0 ? strrchr(tail, '\n') : NULL;
		rc = err_set(e, -EIO, "container \"%s\": conmon ended before creating it (%.200s)",
			     name, n <= 0 || !*tail ? "no output" : last ? last + 1 : tail);
	}
	cJSON_Delete(j);
	return rc;
}

/* Unmounts DIR/rootfs if it is mounted; quiet if it is not. */
static void unmount_root(const char *dir)
{
	char root[8192];
	snprintf(root, sizeof root, "%s/rootfs", dir);
	while (umount2(root, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
		;
}

static int mount_root(const char *dir, const struct image *im, char *root, size_t len,
		      struct err *e)
{
	char upper[8192], work[8192], opts[4096];
	snprintf(root, len, "%s/rootfs", dir);
	snprintf(upper, sizeof upper, "%s/upper", dir);
	snprintf(work, sizeof work, "%s/work", dir);
	int rc;
	if ((rc = mkdir_p(root, 0755, e)) < 0 || (rc = mkdir_p(upper, 0755, e)) < 0 ||
	    (rc = mkdir_p(work, 0700, e)) < 0)
		return rc;
	/* An imported image lists its layers' directories, top first, in
	 * `lower` (image_import.h); a plain one is a single directory. */
	char lower[sizeof opts], lowerf[8192];
	snprintf(lowerf, sizeof lowerf, "%s/lower", im->path);
	ssize_t ln = read_file(lowerf, lower, sizeof lower);
	if (ln >= (ssize_t)sizeof lower)
		return err_set(e, -E2BIG, "%s: too many layers for one overlay mount", lowerf);
	if (ln > 0)
		lower[ln] = 0;
	else
		snprintf(lower, sizeof lower, "%s", im->path);
	/* overlayfs splits its options at ',' and lowerdir at ':'. */
	if (strchr(lower, ',') || (ln <= 0 && strchr(lower, ':')) || strpbrk(dir, ",:"))
		return err_set(e, -EINVAL, "%s: a ',' or ':' in the path cannot go into an overlay "
			       "mount", strpbrk(dir, ",:") ? dir : im->path);
	int n = snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper,
			 work);
	if (n < 0 || (size_t)n >= sizeof opts)
		return err_set(e, -ENAMETOOLONG, "%s: paths too long for an overlay mount", dir);
	unmount_root(dir);
	if (mount("overlay", root, "overlay", MS_NODEV, opts) < 0)
		return err_set(e, -errno, "%s: overlay mount: %s", root, strerror(errno));
	return 0;
}

/* Tells the daemon when conmon (and so the container) ends. */
static void ctr_watch(const struct driver_ctx *c, const struct instance *in)
{
	if (!c->watches)
		return;
	int fd = watch_pidfd((pid_t)in->pid, in->pid_start);
	char dir[4096];
	if (fd >= 0 && instance_path(c, in->name, NULL, dir, sizeof dir, NULL) == 0)
		watches_add(c->watches, in->name, in->pid, in->pid_start, fd, 0, dir);
	else if (fd >= 0)
		close(fd);
}

static int ctr_start(const struct driver_ctx *c, struct instance *in, const struct image *im,
		     const struct start_gate *gate, struct err *e)
{
	char dir[4096], path[8192], log[8192], exits[8192], sock[8192];
	char cpid[8192], pidfile[8192], root[8192], conlog[8192];
	int rc;
	if ((rc = instance_path(c, in->name, NULL, dir, sizeof dir, e)) < 0 ||
	    (rc = mkdir_p(dir, 0700, e)) < 0)
		return rc;
	snprintf(exits, sizeof exits, "%s/exits", dir);
	snprintf(sock, sizeof sock, "%s/sockets", dir);
	if ((rc = mkdir_p(exits, 0700, e)) < 0 || (rc = mkdir_p(sock, 0700, e)) < 0)
		return rc;
	char rootfs[8192];
	if ((rc = mount_root(dir, im, rootfs, sizeof rootfs, e)) < 0)
		return rc;
	/* A container on a network joins the namespace network_plug made. */
	char netns[8200];
	struct stat nst;
	snprintf(netns, sizeof netns, "%s/netns", dir);
	/* Attached dir volumes (STATE/.../volumes, volume.h) at /volumes/NAME. */
	char vols[4096] = "", volpath[8200], hostp[8][4096], inside[8][96];
	const char *binds[8][2];
	int nbinds = 0;
	snprintf(volpath, sizeof volpath, "%s/volumes", dir);
	if (read_file(volpath, vols, sizeof vols) > 0) {
		for (char *line = strtok(vols, "\n"); line && nbinds < 8; line = strtok(NULL, "\n")) {
			char name[64];
			if (sscanf(line, "dir %4095s %63s", hostp[nbinds], name) != 2)
				continue;
			snprintf(inside[nbinds], sizeof inside[0], "/volumes/%s", name);
			binds[nbinds][0] = hostp[nbinds];
			binds[nbinds][1] = inside[nbinds];
			nbinds++;
		}
	}
	char imcfg[8192];
	snprintf(imcfg, sizeof imcfg, "%s/config.json", im->path);
	char *cfg = ctr_config(in, rootfs, access(imcfg, R_OK) == 0 ? imcfg : NULL,
			       stat(netns, &nst) == 0 ? netns : NULL,
			       (const char *const (*)[2])binds, nbinds, e);
	if (!cfg) {
		unmount_root(dir);
		if (!e || !e->code)
			return err_set(e, -ENOMEM, "container \"%s\": out of memory", in->name);
		return e->code;
	}
	snprintf(path, sizeof path, "%s/config.json", dir);
	rc = write_file(path, cfg, strlen(cfg), 0600, e);
	cJSON_free(cfg);
	if (rc < 0) {
		unmount_root(dir);
		return rc;
	}
	/* A container that ended while we were away is still known to the runtime. */
	runtime(c, NULL, 0, NULL, "delete", "--force", in->name, NULL);
	snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
	snprintf(cpid, sizeof cpid, "%s/conmon.pid", dir);
	snprintf(log, sizeof log, "%s/console.log", dir);
	snprintf(conlog, sizeof conlog, "%s/conmon.log", dir);
	snprintf(path, sizeof path, "%s/exits/%s", dir, in->name);
	unlink(pidfile);
	unlink(cpid);
	unlink(path);
	snprintf(root, sizeof root, "%s/runtime", c->state_dir);

	int sync[2];
	if (pipe2(sync, O_CLOEXEC) < 0) {
		rc = err_set(e, -errno, "container \"%s\": pipe: %s", in->name, strerror(errno));
		unmount_root(dir);
		return rc;
	}
	char logopt[8300], env_sync[32];
	snprintf(logopt, sizeof logopt, "k8s-file:%s", log);
	snprintf(env_sync, sizeof env_sync, "_OCI_SYNCPIPE=%d", sync[1]);
	const char *env[] = { env_sync, NULL };
	char *argv[] = {
		(char *)c->conmon, "--api-version", "1", "-c", in->name, "-u", in->name,
		"-n", in->name, "-r", (char *)c->runtime, "-b", dir, "-p", pidfile,
		"--conmon-pidfile", cpid, "--exit-dir", exits, "-l", logopt,
		"--socket-dir-path", sock, "--log-level", "error",
		/* cut at 1 MiB; the generation before is kept (log_keep.h) */
		"--log-size-max", LOGS_GENERATION_MAX_STR,
		/* stdin a pipe conmon holds, for `nimbus console` on its attach socket */
		"-i", "--leave-stdin-open",
		"--runtime-arg", "--root", "--runtime-arg", root,
		/* launch --terminal: conmon takes the pty's master from the runtime
		 * (--console-socket) and its attach socket carries the terminal */
		in->terminal ? "-t" : NULL, NULL,
	};
	struct spawn_opts o = { .log_path = conlog, .env = env, .keep_fd = sync[1],
				.new_session = true };
	pid_t parent;
	rc = proc_spawn(argv, &o, &parent, e);
	close(sync[1]);
	if (rc < 0) {
		close(sync[0]);
		unmount_root(dir);
		return rc;
	}
	/* conmon forks into the background; the process we started returns at once. */
	waitpid(parent, NULL, 0);
	rc = read_sync(sync[0], in->name, conlog, e);
	close(sync[0]);
	if (rc < 0)
		goto fail;
	char buf[64];
	pid_t mon = 0;
	if (read_file(cpid, buf, sizeof buf) > 0)
		mon = (pid_t)atoi(buf);
	long long mon_start = mon > 0 ? proc_start_time(mon) : -1;
	if (mon_start < 0) {
		rc = err_set(e, -ESRCH, "container \"%s\": conmon is gone after creating it "
			     "(see %s)", in->name, conlog);
		goto fail;
	}
	/* Made, its process not yet run: what it needs (its addresses) first. */
	if (gate && gate->wait && (rc = gate->wait(gate->arg, e)) < 0)
		goto fail;
	char out[1024];
	int st = runtime(c, out, sizeof out, e, "start", in->name, NULL, NULL);
	if (st != 0) {
		if (st > 0) {
			strip(out);
			rc = err_set(e, -EIO, "container \"%s\": %s start: %s", in->name,
				     c->runtime, *out ? out : "failed");
		} else {
			rc = st;
		}
		goto fail;
	}
	in->pid = mon;
	in->pid_start = mon_start;
	ctr_watch(c, in);
	return 0;
fail:
	runtime(c, NULL, 0, NULL, "delete", "--force", in->name, NULL);
	unmount_root(dir);
	return rc;
}

static int ctr_stop(const struct driver_ctx *c, const struct instance *in, int timeout_s,
		    bool force, struct err *e)
{
	pid_t mon = (pid_t)in->pid;
	if (!force) {
		runtime(c, NULL, 0, NULL, "kill", in->name, "TERM", NULL);
		if (proc_wait_gone(mon, in->pid_start, timeout_s * 1000))
			goto gone;
	}
	runtime(c, NULL, 0, NULL, "kill", in->name, "KILL", NULL);
	if (!proc_wait_gone(mon, in->pid_start, 10000)) {
		/* The runtime could not reach it: end the monitor, and the
		 * container's pid namespace goes with its init. */
		if (proc_alive(mon, in->pid_start))
			kill(mon, SIGKILL);
		if (!proc_wait_gone(mon, in->pid_start, 5000))
			return err_set(e, -EBUSY, "container \"%s\": conmon (pid %d) still "
				       "running after SIGKILL", in->name, (int)mon);
	}
gone:;
	char out[1024], dir[4096];
	int st = runtime(c, out, sizeof out, e, "delete", "--force", in->name, NULL);
	if (st < 0)
		return st;
	if (instance_path(c, in->name, NULL, dir, sizeof dir, NULL) == 0)
		unmount_root(dir);
	return 0;
}

int instance_kill_all(const struct driver_ctx *c, const char *name,
		      void (*between)(const struct driver_ctx *c, const char *name),
		      struct err *e)
{
	char dir[4096], tag[4096 + 2];
	int rc = instance_path(c, name, NULL, dir, sizeof dir, e);
	if (rc < 0)
		return rc;
	/* "DIR/": instance c1's tag must not match c10's processes. */
	snprintf(tag, sizeof tag, "%s/", dir);
	int total = 0, quiet = 0;
	/* Two quiet rounds in a row: a process forked by the dead daemon just
	 * before it died gets the time to exec and show its tag. */
	for (int round = 0; round < 100; round++) {
		int n = proc_kill_tagged(tag);
		if (between)
			between(c, name);
		total += n;
		quiet = n ? 0 : quiet + 1;
		if (quiet == 2)
			return total;
		usleep(20000);
	}
	return err_set(e, -EBUSY, "instance \"%s\": its processes keep coming back", name);
}

static void runtime_forget(const struct driver_ctx *c, const char *name)
{
	runtime(c, NULL, 0, NULL, "kill", name, "KILL", NULL);
	runtime(c, NULL, 0, NULL, "delete", "--force", name, NULL);
}

static int ctr_rollback(const struct driver_ctx *c, const struct instance *in, struct err *e)
{
	/* A container the runtime still knows: its state directory is there. */
	char known[8192];
	snprintf(known, sizeof known, "%s/runtime/%s", c->state_dir, in->name);
	int killed = instance_kill_all(c, in->name, NULL, e);
	if (killed < 0)
		return killed;
	if (killed == 0 && access(known, F_OK) != 0)
		return 0;
	int again = instance_kill_all(c, in->name, runtime_forget, e);
	char dir[4096];
	if (again >= 0 && instance_path(c, in->name, NULL, dir, sizeof dir, NULL) == 0)
		unmount_root(dir);
	return again < 0 ? again : killed + again;
}

static int ctr_exec(const struct driver_ctx *c, const struct instance *in, char *const argv[],
		    int timeout_s, char *out, size_t outlen, struct err *e)
{
	char root[8192], dir[4096], pidfile[8192];
	int rc = instance_path(c, in->name, NULL, dir, sizeof dir, e);
	if (rc < 0)
		return rc;
	snprintf(root, sizeof root, "%s/runtime", c->state_dir);
	/* Each exec its own pid file (execs may run side by side), so a timeout
	 * can end the process in the container, not only the runtime. */
	static atomic_uint seq;
	snprintf(pidfile, sizeof pidfile, "%s/exec-%d-%u.pid", dir, (int)getpid(),
		 atomic_fetch_add(&seq, 1));
	char *args[EXEC_ARGS_MAX + 10] = { (char *)c->runtime, "--root", root, "exec",
					   "--pid-file", pidfile, "--", (char *)in->name };
	int n = 8;
	for (int i = 0; argv[i] && n < EXEC_ARGS_MAX + 9; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	/* A timeout of 0 means none worth the name: an hour, the longest a request may ask. */
	rc = proc_run(args, (timeout_s ? timeout_s : STOP_TIMEOUT_MAX) * 1000, out, outlen, e);
	if (rc == -ETIMEDOUT) {
		char buf[32];
		pid_t pid = read_file(pidfile, buf, sizeof buf) > 0 ? (pid_t)atoi(buf) : 0;
		if (pid > 1)
			kill(pid, SIGKILL);
		rc = err_set(e, -ETIMEDOUT, "container \"%s\": %s did not end within %d s (killed)",
			     in->name, argv[0], timeout_s);
	}
	unlink(pidfile);
	return rc;
}

static int ctr_remove(const struct driver_ctx *c, const struct instance *in, struct err *e)
{
	char dir[4096];
	int rc = instance_path(c, in->name, NULL, dir, sizeof dir, e);
	if (rc < 0)
		return rc;
	watches_cancel(c->watches, in->name);
	runtime(c, NULL, 0, NULL, "delete", "--force", in->name, NULL);
	unmount_root(dir);
	return rm_rf(dir, e);
}

/* The runtime freezes the container's cgroup (docs/ctr-runtime.md). */
static int ctr_pause(const struct driver_ctx *c, const struct instance *in, bool pause,
		     struct err *e)
{
	char out[1024];
	int st = runtime(c, out, sizeof out, e, pause ? "pause" : "resume", in->name, NULL, NULL);
	if (st > 0) {
		strip(out);
		return err_set(e, -EIO, "container \"%s\": %s %s: %s", in->name, c->runtime,
			       pause ? "pause" : "resume", *out ? out : "failed");
	}
	return st;
}

const struct driver ctr_driver = {
	.start = ctr_start,
	.stop = ctr_stop,
	.rollback = ctr_rollback,
	.exec = ctr_exec,
	.remove = ctr_remove,
	.pause = ctr_pause,
	.watch = ctr_watch,
	.exec_stream = ctr_exec_stream,
};

/* conmon (2.0.21 and later) reads "ROWS COLS\n" from the FIFO `winsz` in
 * the bundle directory and sets its pty's window size, so the container
 * gets SIGWINCH as on a local terminal.  (Its `ctl` FIFO takes "1 ROWS
 * COLS" for the same, type first; winsz is the one meant for it.) */
int ctr_console_resize(const struct driver_ctx *c, const struct instance *in, unsigned rows,
		       unsigned cols, struct err *e)
{
	if (!in->terminal)
		return err_set(e, -ENOTTY, "container \"%s\": started without --terminal: its "
			       "console is a pipe, which has no window size", in->name);
	char path[4200], msg[32];
	int rc = instance_path(c, in->name, "winsz", path, sizeof path, e);
	if (rc < 0)
		return rc;
	int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return err_set(e, errno == ENXIO ? -ESRCH : -errno, "container \"%s\": %s: %s",
			       in->name, path, strerror(errno));
	int n = snprintf(msg, sizeof msg, "%u %u\n", rows, cols);
	rc = write(fd, msg, (size_t)n) == n ? 0 : err_set(e, -errno, "container \"%s\": %s: %s",
							     in->name, path, strerror(errno));
	close(fd);
	return rc;
}
