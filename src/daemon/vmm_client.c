/*
 * VMs: each one a `nimbus vm run` process (the daemon's own binary) in its
 * own session, with its serial console written to console.log and a control
 * socket in the instance's directory.  This file is the only place that
 * knows how the daemon talks to a VMM: today a clean stop is the control
 * socket's `stop` request (a text line; SIGTERM, which `vm run` also turns
 * into a clean stop, when the socket does not answer), and a forced stop is
 * SIGKILL.  When the control protocol changes, only this file changes.
 *
 * The guest is the image's directory (NIMBUS_GUEST_DIR: Image and
 * initramfs), booted with --ephemeral (nothing it writes lasts, so any number
 * of VMs share the image) and no network for now.
 */
#include "daemon/driver.h"
#include "daemon/fsutil.h"
#include "daemon/proc.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define VMM_SOCKET_WAIT_MS 5000

/* Sends one request line to the control socket; 0 if it answered "ok". */
static int control_request(const char *path, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
	    send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		rc = -errno;
		goto out;
	}
	char reply[256];
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	if (poll(&pf, 1, 3000) <= 0) {
		rc = -ETIMEDOUT;
		goto out;
	}
	ssize_t n = read(fd, reply, sizeof reply - 1);
	if (n < 2 || strncmp(reply, "ok", 2))
		rc = -EPROTO;
out:
	close(fd);
	return rc;
}

static int vmm_start(const struct driver_ctx *c, struct instance *in, const struct image *im,
		     struct err *e)
{
	char dir[4096], sock[8192], log[8192], env_guest[8192];
	int rc;
	if ((rc = instance_path(c, in->name, NULL, dir, sizeof dir, e)) < 0 ||
	    (rc = mkdir_p(dir, 0700, e)) < 0)
		return rc;
	snprintf(sock, sizeof sock, "%s/control.sock", dir);
	snprintf(log, sizeof log, "%s/console.log", dir);
	struct sockaddr_un sa;
	if (strlen(sock) >= sizeof sa.sun_path)
		return err_set(e, -ENAMETOOLONG, "vm \"%s\": control socket path %s: longer than "
			       "%zu bytes (use a shorter --state-dir)", in->name, sock,
			       sizeof sa.sun_path - 1);
	snprintf(env_guest, sizeof env_guest, "NIMBUS_GUEST_DIR=%s", im->path);
	const char *env[] = { env_guest, NULL };
	/* The resources the launch reserved against its project's quotas. */
	char cpus[16], mem[32];
	snprintf(cpus, sizeof cpus, "%d", in->cpus);
	snprintf(mem, sizeof mem, "%lldM", in->memory_mib);
	/* A VM on a network gets the TAP network_plug made (STATE/.../nic). */
	char net[128] = "none", nicpath[8200];
	snprintf(nicpath, sizeof nicpath, "%s/nic", dir);
	if (read_file(nicpath, net, sizeof net) > 0)
		net[strcspn(net, "\n")] = 0;
	else
		snprintf(net, sizeof net, "none");
	/* Attached block volumes (STATE/.../volumes, volume.h) become disks.  They
	 * must keep what the guest writes, so the VM is then not --ephemeral:
	 * with a --disk there is no default root disk anyway, and --append
	 * without root= keeps the guest in its initramfs rather than booting
	 * whatever a volume holds. */
	char vols[4096] = "", volpath[8200], disks[8][4200];
	snprintf(volpath, sizeof volpath, "%s/volumes", dir);
	int ndisks = 0;
	if (read_file(volpath, vols, sizeof vols) > 0) {
		for (char *line = strtok(vols, "\n"); line && ndisks < 8; line = strtok(NULL, "\n")) {
			char path[4096], name[64];
			if (sscanf(line, "block %4095s %63s", path, name) == 2)
				snprintf(disks[ndisks++], sizeof disks[0], "%s,format=qcow2,serial=%s", path,
					 name);
		}
	}
	char *argv[12 + 2 * 8 + 4] = { (char *)c->self_exe, "vm", "run", "--net", net, "--control",
				       sock };
	int argc = 7;
	if (in->cpus > 0) {   /* 0: the VMM's default, the same the quotas count */
		argv[argc++] = "--cpus";
		argv[argc++] = cpus;
	}
	if (in->memory_mib > 0) {
		argv[argc++] = "--mem";
		argv[argc++] = mem;
	}
	if (ndisks) {
		argv[argc++] = "--append";
		argv[argc++] = "console=ttyS0";
		for (int i = 0; i < ndisks; i++) {
			argv[argc++] = "--disk";
			argv[argc++] = disks[i];
		}
	} else {
		argv[argc++] = "--ephemeral";
	}
	argv[argc] = NULL;
	struct spawn_opts o = { .log_path = log, .env = env, .keep_fd = -1, .new_session = true };
	unlink(sock);
	pid_t pid;
	if ((rc = proc_spawn(argv, &o, &pid, e)) < 0)
		return rc;
	long long start = proc_start_time(pid);
	/* Running means the VMM got as far as serving its control socket. */
	for (int waited = 0; ; waited += 20) {
		struct stat st;
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
			break;
		if (!proc_alive(pid, start) || waited >= VMM_SOCKET_WAIT_MS) {
			if (proc_alive(pid, start)) {
				kill(pid, SIGKILL);
				proc_wait_gone(pid, start, 5000);
			}
			char tail[300] = "";
			char buf[8192];
			ssize_t n = read_file(log, buf, sizeof buf);
			if (n > 0) {
				size_t from = (size_t)n > sizeof tail - 1 ? (size_t)n - (sizeof tail - 1) : 0;
				snprintf(tail, sizeof tail, "%s", buf + from);
				for (char *p = tail; *p; p++)
					if (*p == '\n' || *p == '\r')
						*p = ' ';
			}
			return err_set(e, -EIO, "vm \"%s\": the VMM %s: %s", in->name,
				       waited >= VMM_SOCKET_WAIT_MS ? "did not open its control socket"
								    : "exited at start",
				       *tail ? tail : "no output");
		}
		usleep(20000);
	}
	in->pid = pid;
	in->pid_start = start;
	return 0;
}

static int vmm_stop(const struct driver_ctx *c, const struct instance *in, int timeout_s,
		    bool force, struct err *e)
{
	pid_t pid = (pid_t)in->pid;
	if (!force) {
		char sock[4096];
		int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
		if (rc < 0)
			return rc;
		if (control_request(sock, "stop\n") < 0 && proc_alive(pid, in->pid_start))
			kill(pid, SIGTERM);
		if (proc_wait_gone(pid, in->pid_start, timeout_s * 1000))
			return 0;
	}
	if (proc_alive(pid, in->pid_start))
		kill(pid, SIGKILL);
	if (!proc_wait_gone(pid, in->pid_start, 10000))
		return err_set(e, -EBUSY, "vm \"%s\": the VMM (pid %d) still runs after SIGKILL",
			       in->name, (int)pid);
	return 0;
}

static int vmm_rollback(const struct driver_ctx *c, const struct instance *in, struct err *e)
{
	return instance_kill_all(c, in->name, NULL, e);
}

static int vmm_exec(const struct driver_ctx *c, const struct instance *in, char *const argv[],
		    int timeout_s, char *out, size_t outlen, struct err *e)
{
	(void)c, (void)argv, (void)timeout_s, (void)out, (void)outlen;
	return err_set(e, -ENOSYS, "vm \"%s\": exec in a VM needs a guest agent, which the "
		       "default guest does not have yet", in->name);
}

static int vmm_remove(const struct driver_ctx *c, const struct instance *in, struct err *e)
{
	char dir[4096];
	int rc = instance_path(c, in->name, NULL, dir, sizeof dir, e);
	if (rc < 0)
		return rc;
	return rm_rf(dir, e);
}

const struct driver vmm_driver = {
	.start = vmm_start,
	.stop = vmm_stop,
	.rollback = vmm_rollback,
	.exec = vmm_exec,
	.remove = vmm_remove,
};
