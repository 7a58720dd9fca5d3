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
 * udhcpc gives up by itself after DHCP_WAIT_S discovers a second apart
 * (-n): a network whose dnsmasq does not answer fails the start, naming
 * the network and udhcpc's last word, and nothing is left running.
 */
#include "daemon/network.h"
#include "daemon/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void file_of(const char *dir, int idx, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%s/dhcp-eth%d.%s", dir, idx, ext);
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
	char netns[4200], pidf[4200], state[4200], log[4200], eth[16], tries[8], addr[40],
		gw[40], statev[4300], ip[16];
	snprintf(netns, sizeof netns, "%s/netns", inst_dir);
	file_of(inst_dir, nic->idx, "pid", pidf, sizeof pidf);
	file_of(inst_dir, nic->idx, "lease", state, sizeof state);
	file_of(inst_dir, nic->idx, "log", log, sizeof log);
	if (access(c->dhcp_hook, X_OK) < 0 || access(c->busybox, X_OK) < 0)
		return err_set(e, -ENOENT, "network \"%s\": eth%d: its DHCP client needs %s and %s "
			       "(busybox-static and nimbus's own build): %s", n->name, nic->idx,
			       c->busybox, c->dhcp_hook, strerror(errno));
	network_dhcp_stop(inst_dir, nic->idx);   /* one a killed daemon may have left */
	unlink(log);
	snprintf(eth, sizeof eth, "eth%d", nic->idx);
	snprintf(tries, sizeof tries, "%d", DHCP_WAIT_S);
	snprintf(addr, sizeof addr, "NIMBUS_DHCP_ADDRESS=%s/%u", ip_str(nic->ip, ip, sizeof ip),
		 n->subnet.prefix);
	/* eth0 carries the default route; the others only their subnet's. */
	snprintf(gw, sizeof gw, "NIMBUS_DHCP_GATEWAY=%s",
		 nic->idx == 0 ? ip_str(subnet_host(&n->subnet, 1), ip, sizeof ip) : "");
	snprintf(statev, sizeof statev, "NIMBUS_DHCP_STATE=%s", state);
	const char *env[] = { addr, gw, statev, NULL };
	/* -t N -T 1 -n: N discovers a second apart, then give up with exit 1;
	 * -R: release at SIGTERM; no -q: stay to renew. */
	char *argv[] = { (char *)c->busybox, "udhcpc", "-i", eth, "-s", (char *)c->dhcp_hook,
			 "-p", pidf, "-t", tries, "-T", "1", "-n", "-R", NULL };
	struct spawn_opts o = { .log_path = log, .env = env, .keep_fd = -1, .new_session = true,
				.netns = netns };
	*out = (struct nic_lease){ .idx = nic->idx, .ip = nic->ip, .prefix = n->subnet.prefix };
	snprintf(out->network, sizeof out->network, "%s", n->name);
	struct err se = { 0 };
	int rc = proc_spawn(argv, &o, &out->pid, &se);
	if (rc < 0)
		return err_set(e, rc, "network \"%s\": %s: its DHCP client: %s", n->name, eth, se.msg);
	return 0;
}

/* The last line udhcpc or the hook wrote, for an error message. */
static void last_line(const char *path, char *out, size_t len)
{
	char buf[4096];
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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

static pid_t read_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
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
	char path[4200], got[600] = "", want[40], ip[16], why[300];
	file_of(dir, l->idx, "lease", path, sizeof path);
	FILE *f = fopen(path, "re");
	if (f) {
		if (!fgets(got, sizeof got, f))
			got[0] = 0;
		fclose(f);
		got[strcspn(got, "\n")] = 0;
	}
	snprintf(want, sizeof want, "bound %s/%u ", ip_str(l->ip, ip, sizeof ip), l->prefix);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !strncmp(got, want, strlen(want)))
		return 0;
	if (!strncmp(got, "refused ", 8))
		return err_set(e, -EPERM, "network \"%s\": %s", l->network, got + 8);
	file_of(dir, l->idx, "log", path, sizeof path);
	last_line(path, why, sizeof why);
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
	char pidf[4200];
	file_of(dir, l->idx, "pid", pidf, sizeof pidf);
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

void network_dhcp_stop(const char *inst_dir, int idx)
{
	char pidf[4200], path[4200], cmd[4096];
	file_of(inst_dir, idx, "pid", pidf, sizeof pidf);
	pid_t pid = read_pid(pidf);
	if (pid <= 0)
		return;
	/* Only the udhcpc of this pid file: after a reboot the pid may be anyone's. */
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, cmd, sizeof cmd - 1) : -1;
	if (fd >= 0)
		close(fd);
	for (ssize_t i = 0; i < n; i++)
		if (!cmd[i])
			cmd[i] = ' ';
	if (n > 0 && (cmd[n] = 0, strstr(cmd, "udhcpc") && strstr(cmd, pidf))) {
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
	unlink(pidf);
	file_of(inst_dir, idx, "lease", path, sizeof path);
	unlink(path);
}
