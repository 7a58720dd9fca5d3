/*
 * A container NIC's DHCP client (network.h, docs/cloud.md "Addresses by
 * DHCP"): busybox's udhcpc, as a container's own init would run it, but
 * started by the daemon in the container's network namespace before the
 * container's process exists, so the process never sees a NIC without its
 * address.  udhcpc asks the network's dnsmasq, its hook (nimbus-dhcp-hook)
 * applies the lease, and then it forks into the background and exits: that
 * exit is what network_dhcp_wait waits for (on a pidfd: no polling
 * interval added to a launch).  The background udhcpc renews the lease
 * (at half its time) for as long as the NIC lives; network_dhcp_stop ends
 * it with SIGTERM, on which it releases the lease (-R), so dnsmasq's lease
 * file holds the running containers.
 *
 * udhcpc parses what anyone on the bridge sends, so it runs as nobody with
 * the network capabilities alone (proc.h, net_caps_only): enough to
 * configure the container's namespace, nothing on the host.  It cannot
 * reach the instance's directory (root's, 0700), so it works in one of its
 * own, dhcp-ethN/ (its pid file, the hook's report `lease`; relative
 * paths, resolved from its working directory), and runs the hook through
 * a descriptor the daemon opened (/proc/self/fd/N), wherever it is built.
 *
 * udhcpc gives up by itself after DHCP_WAIT_S discovers a second apart
 * (-n): a network whose dnsmasq does not answer fails the start, naming
 * the network and udhcpc's last word, and nothing is left running.
 */
#include "daemon/network.h"
#include "daemon/fsutil.h"
#include "daemon/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* inst_dir/dhcp-ethIDX[/leaf] */
static void file_of(const char *dir, int idx, const char *leaf, char *buf, size_t len)
{
	snprintf(buf, len, "%s/dhcp-eth%d%s%s", dir, idx, leaf ? "/" : "", leaf ? leaf : "");
}

static long long ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* A process's exit as a readable fd (Linux 5.3); -1 if it is gone already. */
static int pidfd_of(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int network_dhcp_begin(const struct net_ctx *c, const char *inst_dir, const struct network *n,
		       const struct nic *nic, struct nic_lease *out, struct err *e)
{
	char netns[4200], dir[4200], log[4300], eth[16], tries[8], addr[40], gw[40], ip[16],
		script[32];
	snprintf(netns, sizeof netns, "%s/netns", inst_dir);
	file_of(inst_dir, nic->idx, NULL, dir, sizeof dir);
	file_of(inst_dir, nic->idx, "log", log, sizeof log);
	snprintf(eth, sizeof eth, "eth%d", nic->idx);
	network_dhcp_stop(inst_dir, nic->idx);   /* one a killed daemon may have left */
	int hook = open(c->dhcp_hook, O_RDONLY | O_CLOEXEC);
	if (hook < 0 || access(c->busybox, X_OK) < 0) {
		int rc = -errno;
		if (hook >= 0)
			close(hook);
		return err_set(e, rc, "network \"%s\": %s: its DHCP client needs %s and %s "
			       "(busybox-static and nimbus's own build): %s", n->name, eth,
			       c->busybox, c->dhcp_hook, strerror(-rc));
	}
	if (mkdir(dir, 0700) < 0 || chown(dir, PROC_NOBODY, PROC_NOBODY) < 0) {
		int rc = -errno;
		close(hook);
		return err_set(e, rc, "%s: %s", dir, strerror(-rc));
	}
	snprintf(script, sizeof script, "/proc/self/fd/%d", hook);
	snprintf(tries, sizeof tries, "%d", DHCP_WAIT_S);
	snprintf(addr, sizeof addr, "NIMBUS_DHCP_ADDRESS=%s/%u", ip_str(nic->ip, ip, sizeof ip),
		 n->subnet.prefix);
	/* eth0 carries the default route; the others only their subnet's. */
	snprintf(gw, sizeof gw, "NIMBUS_DHCP_GATEWAY=%s",
		 nic->idx == 0 ? ip_str(subnet_host(&n->subnet, 1), ip, sizeof ip) : "");
	const char *env[] = { addr, gw, "NIMBUS_DHCP_STATE=lease", NULL };
	/* -t N -T 1 -n: N discovers a second apart, then give up with exit 1;
	 * -R: release at SIGTERM; no -q: stay to renew. */
	char *argv[] = { (char *)c->busybox, "udhcpc", "-i", eth, "-s", script, "-p", "udhcpc.pid",
			 "-t", tries, "-T", "1", "-n", "-R", NULL };
	struct spawn_opts o = { .log_path = log, .env = env, .keep_fd = hook, .new_session = true,
				.netns = netns, .cwd = dir, .net_caps_only = true };
	*out = (struct nic_lease){ .idx = nic->idx, .ip = nic->ip, .prefix = n->subnet.prefix };
	snprintf(out->network, sizeof out->network, "%s", n->name);
	struct err se = { 0 };
	int rc = proc_spawn(argv, &o, &out->pid, &se);
	close(hook);
	if (rc < 0) {
		network_dhcp_stop(inst_dir, nic->idx);
		return err_set(e, rc, "network \"%s\": %s: its DHCP client: %s", n->name, eth, se.msg);
	}
	return 0;
}

/* The last line udhcpc or the hook wrote, for an error message (never
 * through a symlink: the directory is nobody's). */
static void last_line(const char *path, char *out, size_t len)
{
	char buf[4096];
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
	ssize_t n = pread(fd, buf, sizeof buf - 1, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	const char *nl = strrchr(buf, '\n'), *line = nl ? nl + 1 : buf;
	size_t k = strnlen(line, len - 1);
	memcpy(out, line, k);
	out[k] = 0;
}

/* A pid from udhcpc's pid file.  Its directory is nobody's, so what is read
 * there is opened without following a symlink or waiting on a FIFO, and
 * only checked values are taken from it. */
static pid_t read_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	long v = n > 0 ? strtol(buf, NULL, 10) : 0;
	return v > 0 && v < (1L << 22) ? (pid_t)v : 0;
}

/* After udhcpc's first process exited: what its lease is. */
static int outcome(const char *dir, const struct nic_lease *l, int status, struct err *e)
{
	char path[4300], got[600] = "", want[40], ip[16], why[300];
	file_of(dir, l->idx, "lease", path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd >= 0) {
		ssize_t n = read(fd, got, sizeof got - 1);
		got[n > 0 ? n : 0] = 0;
		close(fd);
		got[strcspn(got, "\n")] = 0;
	}
	snprintf(want, sizeof want, "bound %s/%u ", ip_str(l->ip, ip, sizeof ip), l->prefix);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !strncmp(got, want, strlen(want)))
		return 0;
	if (!strncmp(got, "refused ", 8))
		return err_set(e, -EPERM, "network \"%s\": %s", l->network, got + 8);
	file_of(dir, l->idx, "log", path, sizeof path);
	last_line(path, why, sizeof why);
	size_t skip = strncmp(why, "udhcpc: ", 8) ? 0 : 8;   /* its lines name it */
	memmove(why, why + skip, strlen(why + skip) + 1);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return err_set(e, -EIO, "network \"%s\": eth%d: udhcpc ended without the NIC's "
			       "lease applied (%s)", l->network, l->idx, why[0] ? why : got);
	return err_set(e, -ETIMEDOUT, "network \"%s\": eth%d got no address by DHCP from the "
		       "network's dnsmasq within %d s (udhcpc: %s)", l->network, l->idx, DHCP_WAIT_S,
		       why[0] ? why : "no message");
}

/* udhcpc rewrites its pid file after it forked into the background; the
 * stop reads it, so the new pid must be there before the start goes on. */
static void await_background_pid(const char *dir, const struct nic_lease *l)
{
	char pidf[4300];
	file_of(dir, l->idx, "udhcpc.pid", pidf, sizeof pidf);
	for (int i = 0; i < 500; i++) {
		pid_t p = read_pid(pidf);
		if (p > 0 && p != l->pid)
			return;
		usleep(1000);
	}
}

int network_dhcp_wait(const char *inst_dir, struct nic_leases *ls, struct err *e)
{
	int rc = 0;
	/* One deadline for all: udhcpc gives up by itself within DHCP_WAIT_S
	 * seconds; ours, a little later, catches one that hangs. */
	long long deadline = ms_now() + (DHCP_WAIT_S + 3) * 1000;
	for (size_t i = 0; i < ls->n; i++) {
		struct nic_lease *l = &ls->v[i];
		int fd = pidfd_of(l->pid), status = 0;
		if (fd >= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			long long left = deadline - ms_now();
			int r;
			while ((r = poll(&p, 1, left > 0 ? (int)left : 0)) < 0 && errno == EINTR)
				left = deadline - ms_now();
			close(fd);
			if (r == 0)
				kill(l->pid, SIGKILL);   /* reaped just below */
		}
		while (waitpid(l->pid, &status, 0) < 0 && errno == EINTR)
			;
		int r = outcome(inst_dir, l, status, rc < 0 ? NULL : e);
		if (r == 0)
			await_background_pid(inst_dir, l);
		else if (rc == 0)
			rc = r;
		l->pid = 0;
	}
	return rc;
}

void network_dhcp_abandon(struct nic_leases *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		if (ls->v[i].pid > 0) {
			kill(ls->v[i].pid, SIGKILL);
			while (waitpid(ls->v[i].pid, NULL, 0) < 0 && errno == EINTR)
				;
			ls->v[i].pid = 0;
		}
	ls->n = 0;
}

/* Whether pid is the udhcpc working in dir: its own working directory (a
 * pid file nobody wrote could name anyone). */
static bool is_client(pid_t pid, const char *dir)
{
	char path[64], cmd[64] = "";
	struct stat a, b;   /* the same directory, whatever path the state directory has */
	snprintf(path, sizeof path, "/proc/%d/cwd", (int)pid);
	if (stat(path, &a) < 0 || stat(dir, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return false;
	/* busybox's applet: argv[1] (its comm is busybox's) */
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t m = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
	if (fd >= 0)
		close(fd);
	cmd[m > 0 ? m : 0] = 0;
	const char *applet = m > 0 ? cmd + strnlen(cmd, (size_t)m) + 1 : "";
	return applet < cmd + (m > 0 ? m : 0) && !strcmp(applet, "udhcpc");
}

void network_dhcp_stop(const char *inst_dir, int idx)
{
	char dir[4200], path[4300];
	file_of(inst_dir, idx, NULL, dir, sizeof dir);
	file_of(inst_dir, idx, "udhcpc.pid", path, sizeof path);
	pid_t pid = read_pid(path);
	if (pid > 0 && is_client(pid, dir)) {
		long long start = proc_start_time(pid);
		int pfd = pidfd_of(pid);
		kill(pid, SIGTERM);   /* it releases its lease, its hook removes the address */
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		if (pfd < 0 || poll(&p, 1, 1000) != 1)
			kill(pid, SIGKILL);
		if (pfd >= 0)
			close(pfd);
		proc_wait_gone(pid, start, 1000);   /* reaps it if it is ours */
	}
	rm_rf(dir, NULL);   /* whatever is in it: nobody could write there */
}
