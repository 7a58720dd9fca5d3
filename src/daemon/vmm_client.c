/*
 * VMs: each one a `nimbus vm run --sandbox` process (the lean `nimbus`
 * beside the daemon, src/cli/vmm_main.c, jailed as docs/sandbox.md says) in its
 * own session under a console relay (console_relay.h: the serial console on
 * a pty, its last MiB in console.log, attachable on console.sock), with a
 * control socket in the instance's directory.  This file is the only place that
 * knows how the daemon talks to a VMM: control protocol version 1
 * (docs/control.md), one JSON object per line.  A running VM is watched
 * through a second connection subscribed to its `events` stream (watch.h),
 * so the daemon hears of a poweroff, a panic or a pause as it happens.
 *
 * Every VM gets the guest agent channel (--agent, docs/guest-agent.md):
 * exec is the VMM's `exec` verb, which the agent in the guest serves.
 *
 * Stop: `shutdown` with the stop's timeout (the VMM asks the guest agent to
 * power off, and itself ends the VM when the guest has not by then), a grace
 * of a few seconds, then SIGKILL; --force: `stop` (ends it at once), then
 * SIGKILL.  Pause and resume are the verbs of the same names.
 *
 * The guest is the image's directory (NIMBUS_GUEST_DIR: Image and
 * initramfs), booted with --ephemeral (nothing it writes lasts, so any number
 * of VMs share the image) and no network for now.
 */
#include "daemon/disks.h"
#include "daemon/driver.h"
#include "daemon/fsutil.h"
#include "daemon/proc.h"
#include "daemon/vmm_balloon.h"
#include "daemon/vmm_hotplug.h"
#include "daemon/vmm_migrate.h"
#include "daemon/vmm_snapshot.h"
#include "lib/io.h"
#include "daemon/watch.h"
#include "vmm/vm_cgroup.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define VMM_SOCKET_WAIT_MS 5000
#define VMM_REPLY_WAIT_MS 5000
/* After its shutdown deadline the VMM stops the VM itself; this is how long
 * it may take over that before it is killed. */
#define VMM_STOP_GRACE_MS 3000
/* Exec: the longest request line the VMM takes (docs/control.md), the
 * longest line it sends (its output buffer), how much
 * longer than the command's timeout the VMM may take to answer, and the
 * timeout when none is given (an hour, as for containers). */
#define VMM_REQUEST_MAX 4096
#define VMM_EXEC_LINE_MAX (64 * 1024)
#define VMM_EXEC_GRACE_S 15
#define STOP_TIMEOUT_MAX_S 3600
/* The virt board's virtio-mmio slots (vmm/board/virt.h). */
#define VMM_BOARD_SLOTS 8

static int control_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* Sends one request on fd and reads its reply line.  0 for an ok reply;
 * -EPROTO with the VMM's message in e for an error reply (its code in
 * code, if given); another -errno if the VMM did not answer. */
static int control_exchange_json(int fd, const char *name, const char *req, char *code,
				 size_t codelen, cJSON **reply, struct err *e);

static int control_exchange(int fd, const char *name, const char *req, char *code,
			    size_t codelen, struct err *e)
{
	return control_exchange_json(fd, name, req, code, codelen, NULL, e);
}

static int control_read_reply(int fd, const char *name, int wait_ms, char *code,
			      size_t codelen, cJSON **reply, struct err *e);

/* The same, handing an ok reply to the caller in *reply (when given). */
static int control_exchange_json(int fd, const char *name, const char *req, char *code,
				 size_t codelen, cJSON **reply, struct err *e)
{
	size_t len = strlen(req);
	if (send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len)
		return err_set(e, -errno, "vm \"%s\": control socket: %s", name, strerror(errno));
	return control_read_reply(fd, name, VMM_REPLY_WAIT_MS, code, codelen, reply, e);
}

/* Reads the reply line to a request sent on fd, waiting up to wait_ms. */
static int control_read_reply(int fd, const char *name, int wait_ms, char *code,
			      size_t codelen, cJSON **reply, struct err *e)
{
	char line[4096];
	size_t have = 0;
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int r = poll(&pf, 1, wait_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			return err_set(e, -ETIMEDOUT, "vm \"%s\": the VMM did not answer within %d s",
				       name, wait_ms / 1000);
		ssize_t n = read(fd, line + have, sizeof line - 1 - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return err_set(e, -ECONNRESET, "vm \"%s\": the VMM closed its control socket",
				       name);
		have += (size_t)n;
		line[have] = 0;
		if (strchr(line, '\n') || have == sizeof line - 1)
			break;
	}
	cJSON *j = cJSON_Parse(line);
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
	int rc = 0;
	if (!cJSON_IsTrue(ok)) {
		const cJSON *er = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(er, "message");
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(er, "code");
		if (code)
			snprintf(code, codelen, "%s", cJSON_IsString(c) ? c->valuestring : "");
		rc = err_set(e, -EPROTO, "vm \"%s\": %s", name,
			     cJSON_IsString(m) ? m->valuestring : "the VMM sent a reply it should not");
	} else if (reply) {
		*reply = j;
		return 0;
	}
	cJSON_Delete(j);
	return rc;
}

/* One request on a connection of its own. */
static int control_call(const char *sock, const char *name, const char *req, char *code,
			size_t codelen, struct err *e)
{
	int fd = control_connect(sock);
	if (fd < 0)
		return err_set(e, fd, "vm \"%s\": control socket %s: %s", name, sock, strerror(-fd));
	int rc = control_exchange(fd, name, req, code, codelen, e);
	close(fd);
	return rc;
}

/* Subscribes a connection to the VM's events and hands it to a watcher. */
static void watch_vm(const struct driver_ctx *c, const struct instance *in, const char *sock)
{
	if (!c->watches)
		return;
	int fd = control_connect(sock);
	if (fd < 0)
		return;
	if (control_exchange(fd, in->name, "{\"id\":0,\"verb\":\"events\",\"version\":1}\n",
			     NULL, 0, NULL) < 0) {
		close(fd);
		return;
	}
	watches_add(c->watches, in->name, in->pid, in->pid_start, fd, 1, NULL);
}

/* The instance's qcow2 overlay on the image's disk, unless it has one:
 * qemu-img writes it (the reference tool for the format); nimbus's qcow2
 * backend reads the backing file from its header. */
static int make_overlay(const char *name, const char *base, const char *overlay, struct err *e)
{
	if (access(overlay, F_OK) == 0)
		return 0;
	size_t n = strlen(base);
	const char *fmt = n > 6 && !strcmp(base + n - 6, ".qcow2") ? "qcow2" : "raw";
	char tmp[8300], out[1024];
	snprintf(tmp, sizeof tmp, "%s.tmp", overlay);
	unlink(tmp);
	char *argv[] = { "/usr/bin/qemu-img", "create", "-q", "-f", "qcow2", "-b", (char *)base, "-F",
			 (char *)fmt, tmp, NULL };
	int st = proc_run(argv, 30000, out, sizeof out, e);
	if (st > 0 || (st == 0 && rename(tmp, overlay) < 0)) {
		unlink(tmp);
		return err_set(e, -EIO, "vm \"%s\": qemu-img create of its overlay: %.300s", name,
			       st > 0 ? out : strerror(errno));
	}
	return st;
}

/* The one-start option a file in the instance's directory asks for
 * (dir/leaf: its value on the first line), appended to argv as flag and
 * value (held in val); the file is gone after.  val is "" without one. */
static void once_option(const char *dir, const char *leaf, const char *flag, char *val,
			size_t len, char **argv, int *argc)
{
	char file[8200];
	snprintf(file, sizeof file, "%s/%s", dir, leaf);
	val[0] = 0;
	if (read_file(file, val, len) > 0) {
		val[strcspn(val, "\n")] = 0;
		argv[(*argc)++] = (char *)flag;
		argv[(*argc)++] = val;
	}
	unlink(file);
}

/* DIR/disk-slots: the serial each hot-plug slot held, a line each ("" for
 * none), as the snapshot reply says; read back by slot_disks_of at a
 * restore.  Written before state, the commit point. */
static int save_slot_list(int dfd, const char *dir, const char *name, const cJSON *reply,
			  const char *key, const char *file, struct err *e)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(reply, key), *it;
	if (!a)
		return 0;   /* no such slots: nothing to put back at a restore */
	char text[VMM_BOARD_SLOTS * (VMM_SERIAL_MAX + 2)] = "";
	size_t used = 0;
	int n = 0;
	cJSON_ArrayForEach(it, a) {
		if (!cJSON_IsString(it) || strlen(it->valuestring) > VMM_SERIAL_MAX ||
		    strchr(it->valuestring, '\n') || ++n > VMM_BOARD_SLOTS)
			return err_set(e, -EPROTO, "vm \"%s\": snapshot: a bad %s in the reply",
				       name, key);
		used += (size_t)snprintf(text + used, sizeof text - used, "%s\n", it->valuestring);
	}
	int fd = openat(dfd, file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	struct iovec v = { text, used };
	int rc = fd < 0 ? -errno : used ? io_pxferv(fd, 0, &v, 1, true) : 0;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		return err_set(e, rc, "vm \"%s\": snapshot %s/%s: %s", name, dir, file,
			       strerror(-rc));
	return 0;
}

/* The restore's DIR/disk-slots (DIR/nic-slots): slot[i] the serial (MAC)
 * hot-plug slot i held ("" none); how many lines, 0 without the file (a
 * snapshot of a VM with nothing hot-plugged, or from an older nimbusd). */
static int slot_list_of(const char *restore_dir, const char *file,
			char slot[][VMM_SERIAL_MAX + 1])
{
	char path[4200], text[VMM_BOARD_SLOTS * (VMM_SERIAL_MAX + 2) + 1];
	snprintf(path, sizeof path, "%s/%s", restore_dir, file);
	if (!restore_dir[0] || read_file(path, text, sizeof text) <= 0)
		return 0;
	int n = 0;
	for (char *p = text, *nl; n < VMM_BOARD_SLOTS && (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = 0;
		snprintf(slot[n++], VMM_SERIAL_MAX + 1, "%.*s", VMM_SERIAL_MAX, p);
	}
	return n;
}

static int vmm_start(const struct driver_ctx *c, struct instance *in, const struct image *im,
		     const struct start_gate *gate, struct err *e)
{
	char dir[4096], sock[8192], log[8192], env_guest[8192];
	int rc;
	if ((gate && gate->wait && (rc = gate->wait(gate->arg, e)) < 0) ||
	    (rc = instance_path(c, in->name, NULL, dir, sizeof dir, e)) < 0 ||
	    (rc = mkdir_p(dir, 0700, e)) < 0)
		return rc;
	snprintf(sock, sizeof sock, "%s/control.sock", dir);
	snprintf(log, sizeof log, "%s/console.log", dir);
	struct sockaddr_un sa;
	if (strlen(sock) >= sizeof sa.sun_path)
		return err_set(e, -ENAMETOOLONG, "vm \"%s\": control socket path %s: longer than "
			       "%zu bytes (use a shorter --state-dir)", in->name, sock,
			       sizeof sa.sun_path - 1);
	/* An imported disk image boots with the default guest's kernel and
	 * initramfs, on its own qcow2 overlay (made at the first start and kept
	 * until the instance is deleted); a guest directory boots ephemeral. */
	struct stat ist;
	bool disk = stat(im->path, &ist) == 0 && S_ISREG(ist.st_mode);
	char overlay[8192], diskopt[8300];
	if (disk) {
		if (!c->guest_dir)
			return err_set(e, -ENOENT, "vm \"%s\": image %s is a disk and there is no default "
				       "guest to boot it with (build it: guest/build)", in->name, im->name);
		snprintf(overlay, sizeof overlay, "%s/root.qcow2", dir);
		if ((rc = make_overlay(in->name, im->path, overlay, e)) < 0)
			return rc;
		snprintf(diskopt, sizeof diskopt, "%s,format=qcow2", overlay);
	}
	snprintf(env_guest, sizeof env_guest, "NIMBUS_GUEST_DIR=%s", disk ? c->guest_dir : im->path);
	const char *env[] = { env_guest, NULL };
	/* The resources the launch reserved against its project's quotas, or
	 * `config set` values; 0 leaves the VMM's defaults (what quotas count). */
	char cpus[16], mem[32];
	snprintf(cpus, sizeof cpus, "%d", in->cpus);
	snprintf(mem, sizeof mem, "%lldM", in->memory_mib);
	/* A VM on networks gets the TAPs network_plug made (STATE/.../nic, a
	 * line each, eth0 first): a --net each. */
	char net[4 * 128] = "", nicpath[8200], *nets[4] = { "none" };
	int nnets = 0;
	/* A restore (vmm_snapshot.h) continues the machine snapshotted: a NIC
	 * that was in a hot-plug slot then goes back into it (--slot-nic), and
	 * a volume likewise (--slot-disk, below). */
	char restore_dir[4096] = "", rfile[8200], nic_held[VMM_BOARD_SLOTS][VMM_SERIAL_MAX + 1];
	char slot_nics[VMM_NICS_MAX][40];
	int nslot_nics = 0;
	snprintf(rfile, sizeof rfile, "%s/%s", dir, VMM_RESTORE_FILE);
	if (read_file(rfile, restore_dir, sizeof restore_dir) > 0)
		restore_dir[strcspn(restore_dir, "\n")] = 0;
	int nnic_held = slot_list_of(restore_dir, VMM_NIC_SLOTS_FILE, nic_held);
	snprintf(nicpath, sizeof nicpath, "%s/nic", dir);
	if (read_file(nicpath, net, sizeof net) > 0)
		for (char *line = strtok(net, "\n"); line && nnets < 4; line = strtok(NULL, "\n")) {
			char ifname[16], mac[18];
			int at = -1;
			if (sscanf(line, "tap,ifname=%15[^,],mac=%17s", ifname, mac) == 2)
				for (int i = 0; i < nnic_held && i < VMM_NICS_MAX && at < 0; i++)
					if (nic_held[i][0] && !strcmp(nic_held[i], mac))
						at = i;
			if (at >= 0)
				snprintf(slot_nics[nslot_nics++], sizeof slot_nics[0], "%d:%s", at, ifname);
			else
				nets[nnets++] = line;
		}
	bool real_nets = nnets > 0;
	nnets += !nnets;
	/* Attached block volumes (STATE/.../volumes, volume.h) become disks.  They
	 * must keep what the guest writes, so the VM is then not --ephemeral.
	 * Booting a guest directory, --append without root= keeps the guest in
	 * its initramfs rather than booting whatever a volume holds; booting a
	 * disk image, its overlay comes first (/dev/vda) and the VMM's default
	 * command line (root=/dev/vda) boots it. */
	char vols[4096] = "", volpath[8200], disks[8][4200];
	snprintf(volpath, sizeof volpath, "%s/volumes", dir);
	int ndisks = 0;
	/* A restore puts each volume that was hot-plugged at the snapshot back
	 * into its slot (--slot-disk), where the restored guest has it. */
	char held[VMM_BOARD_SLOTS][VMM_SERIAL_MAX + 1], slotted[VMM_BOARD_SLOTS][4200];
	int nslotted = 0, nheld = slot_list_of(restore_dir, VMM_DISK_SLOTS_FILE, held);
	if (read_file(volpath, vols, sizeof vols) > 0) {
		for (char *line = strtok(vols, "\n"); line && ndisks < 8; line = strtok(NULL, "\n")) {
			char path[4096], name[64], cut[VMM_SERIAL_MAX + 1];
			if (sscanf(line, "block %4095s %63s", path, name) != 2)
				continue;
			snprintf(cut, sizeof cut, "%.*s", VMM_SERIAL_MAX, name);
			int at = -1;
			for (int i = 0; i < nheld && at < 0; i++)
				if (held[i][0] && !strcmp(held[i], cut))
					at = i;
			if (at >= 0)
				snprintf(slotted[nslotted++], sizeof slotted[0], "%d:%s,serial=%s", at, path,
					 cut);
			else
				snprintf(disks[ndisks++], sizeof disks[0], "%s,format=qcow2,serial=%s", path,
					 name);
		}
	}
	/* Its own disks (`config set disk.D=SIZE`, disks.h) come after the
	 * volumes and keep what is written as they do. */
	char own[DISKS_MAX][4200];
	int nown = 0;
	if ((rc = disks_prepare(dir, in->name, own, DISKS_MAX, &nown, e)) < 0)
		return rc;
	/* The VMM runs under its console relay (console_relay.h), which holds
	 * its terminal and its log, and jailed (docs/sandbox.md, issue 12): a
	 * guest that breaks its VMM holds no more of the host than its own
	 * images and disks. */
	char consock[8192];
	snprintf(consock, sizeof consock, "%s/console.sock", dir);
	/* Every VM has a balloon, so memory overcommit can take back what idle
	 * guests do not use (mem_pressure.h); deflate-on-oom lets a guest take
	 * it back itself before its OOM killer would act. */
	char *argv[15 + 2 * 4 + 2 * 11 + 2 * (8 + DISKS_MAX) + 2 * VMM_BOARD_SLOTS + 2 * VMM_NICS_MAX + 3] = { (char *)c->self_exe, "console-relay", consock, log,
						"--", (char *)c->self_exe, "vm", "run", "--sandbox",
						"--net", nets[0], "--control", sock, "--agent",
						"--balloon=deflate-on-oom" };
	int argc = 15;
	for (int i = 1; i < nnets; i++) {
		argv[argc++] = "--net";
		argv[argc++] = nets[i];
	}
	if (disk) {
		argv[argc++] = "--disk";
		argv[argc++] = diskopt;
	} else if (ndisks || nown) {
		argv[argc++] = "--append";
		argv[argc++] = "console=ttyS0";
	} else {
		argv[argc++] = "--ephemeral";
	}
	for (int i = 0; i < ndisks; i++) {
		argv[argc++] = "--disk";
		argv[argc++] = disks[i];
	}
	for (int i = 0; i < nown; i++) {
		argv[argc++] = "--disk";
		argv[argc++] = own[i];
	}
	/* The board's free virtio-mmio slots become empty disks, so volumes can
	 * be attached while the VM runs (vmm_hotplug.h): the guest must see a
	 * device at boot to take a disk later.  The devices taken: the NICs,
	 * the rng, balloon and agent, and the disks. */
	int taken = (real_nets ? nnets : 0) + 3 + disk + ndisks + nown;
	int free_slots = taken < VMM_BOARD_SLOTS ? VMM_BOARD_SLOTS - taken : 0;
	/* A VM gets empty NICs as well (vmm_hotplug.h), so it can join
	 * networks while it runs: one for each network it may still join, up
	 * to half the free slots (rounded up; the rest are for volumes).  A VM
	 * on no network too: its first empty NIC is its eth0, with its link
	 * down until a network is put in, and the default guest leases a NIC
	 * when its link comes up and waits at boot only for those with one
	 * (guest/rootfs/etc/init.d/rcS).  A restore continues the machine
	 * snapshotted: its slots exactly as the snapshot lists them, when it
	 * lists any (a VM started by an older nimbusd had one NIC slot, or
	 * none on no network: its snapshot lists disk slots and no NICs). */
	int have_nets = real_nets ? nnets : 0;
	int nic_slots = 0;
	if (have_nets < VMM_NICS_MAX && free_slots >= 2) {
		nic_slots = (free_slots + 1) / 2;
		if (nic_slots > VMM_NICS_MAX - have_nets)
			nic_slots = VMM_NICS_MAX - have_nets;
	}
	int disk_slots = free_slots - nic_slots;
	if (nheld > 0 || nnic_held > 0) {
		nic_slots = nnic_held;
		disk_slots = nheld;
	}
	char nslots[48] = "";
	if (nic_slots > 0) {
		uint8_t mac[6];   /* slot i gets MAC + i: vmm_nic_slot_mac(key, NICs + i) */
		vmm_nic_slot_mac(in->name, have_nets, mac);
		snprintf(nslots, sizeof nslots, "%d,mac=%02x:%02x:%02x:%02x:%02x:%02x", nic_slots,
			 mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
		argv[argc++] = "--net-slots";
		argv[argc++] = nslots;
	}
	char slots[16];
	snprintf(slots, sizeof slots, "%d", disk_slots < 0 ? 0 : disk_slots);
	argv[argc++] = "--disk-slots";
	argv[argc++] = slots;
	for (int i = 0; i < nslotted; i++) {
		argv[argc++] = "--slot-disk";
		argv[argc++] = slotted[i];
	}
	for (int i = 0; i < nslot_nics && nslots[0]; i++) {
		argv[argc++] = "--slot-nic";
		argv[argc++] = slot_nics[i];
	}
	if (in->cpus > 0) {
		argv[argc++] = "--cpus";
		argv[argc++] = cpus;
	}
	if (in->memory_mib > 0) {
		argv[argc++] = "--mem";
		argv[argc++] = mem;
	}
	/* A snapshot restore (vmm_snapshot.h): the same machine, continued
	 * from the snapshot rather than booted.  A migration from another
	 * daemon (vmm_migrate.h): the VM arrives rather than boots; its control
	 * socket opens once it has.  Each asked for this start only. */
	char restore[4096], incoming[4096];
	once_option(dir, VMM_RESTORE_FILE, "--restore", restore, sizeof restore, argv, &argc);
	once_option(dir, VMM_INCOMING_FILE, "--incoming", incoming, sizeof incoming, argv, &argc);
	if (c->mem_merge)
		argv[argc++] = "--mem-merge";
	/* Its own cgroup below the VMs' weighted parent, at a task's weight
	 * among the other VMs (and the default memory limit: guest RAM + JIT
	 * cache + overhead), so a busy VM takes no more than its share and the
	 * VMs together keep theirs against the host's other work. */
	if (c->vm_cgroup_parent) {
		argv[argc++] = "--cgroup-parent";
		argv[argc++] = (char *)c->vm_cgroup_parent;
		argv[argc++] = "--cpu-weight";
		argv[argc++] = "100";
		argv[argc++] = "--io-weight";
		argv[argc++] = "100";
	}
	int wait_ms = incoming[0] ? VMM_MIGRATE_WAIT_MS : VMM_SOCKET_WAIT_MS;
	argv[argc] = NULL;
	struct spawn_opts o = { .log_path = log, .env = env, .keep_fd = -1, .new_session = true };
	unlink(sock);
	unlink(consock);
	pid_t pid;
	if ((rc = proc_spawn(argv, &o, &pid, e)) < 0)
		return rc;
	long long start = proc_start_time(pid);
	/* Running means the VMM got as far as serving its control socket. */
	for (int waited = 0; ; waited += 20) {
		struct stat st;
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode) &&
		    control_call(sock, in->name, "{\"id\":0,\"verb\":\"status\",\"version\":1}\n",
				 NULL, 0, NULL) == 0)
			break;
		if (!proc_alive(pid, start) || waited >= wait_ms) {
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
				       waited >= wait_ms ? "did not open its control socket"
								    : "exited at start",
				       *tail ? tail : "no output");
		}
		usleep(20000);
	}
	in->pid = pid;
	in->pid_start = start;
	watch_vm(c, in, sock);
	return 0;
}

static int stop_vmm(const struct driver_ctx *c, const struct instance *in, int timeout_s,
		    bool force, struct err *e)
{
	pid_t pid = (pid_t)in->pid;
	char sock[4096], req[128];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	if (!force) {
		snprintf(req, sizeof req, "{\"id\":0,\"verb\":\"shutdown\",\"version\":1,"
			 "\"timeout_ms\":%d}\n", timeout_s * 1000);
		/* A VMM that cannot take the request is asked by signal: vm run
		 * turns SIGTERM into a clean stop too. */
		if (control_call(sock, in->name, req, NULL, 0, NULL) < 0 &&
		    proc_alive(pid, in->pid_start))
			kill(pid, SIGTERM);
		if (proc_wait_gone(pid, in->pid_start, timeout_s * 1000 + VMM_STOP_GRACE_MS))
			return 0;
	} else {
		control_call(sock, in->name, "{\"id\":0,\"verb\":\"stop\",\"version\":1}\n", NULL,
			     0, NULL);
		if (proc_wait_gone(pid, in->pid_start, 1000))
			return 0;
	}
	if (proc_alive(pid, in->pid_start))
		kill(pid, SIGKILL);
	if (!proc_wait_gone(pid, in->pid_start, 10000))
		return err_set(e, -EBUSY, "vm \"%s\": the VMM (pid %d) still runs after SIGKILL",
			       in->name, (int)pid);
	return 0;
}

static int vmm_stop(const struct driver_ctx *c, const struct instance *in, int timeout_s,
		    bool force, struct err *e)
{
	int rc = stop_vmm(c, in, timeout_s, force, e);
	/* A VMM killed here could not remove its group: the sweep does (a VM
	 * ending on its own removes its own). */
	if (c->vm_cgroup_parent)
		vm_cgroup_sweep(c->vm_cgroup_parent);
	return rc;
}

static int vmm_pause(const struct driver_ctx *c, const struct instance *in, bool pause,
		     struct err *e)
{
	char sock[4096], req[96];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	snprintf(req, sizeof req, "{\"id\":0,\"verb\":\"%s\",\"version\":1}\n",
		 pause ? "pause" : "resume");
	char code[32] = "";
	rc = control_call(sock, in->name, req, code, sizeof code, e);
	if (rc < 0 && !strcmp(code, "timeout"))
		rc = -ETIMEDOUT;
	else if (rc < 0 && !strcmp(code, "not-running"))
		rc = -EALREADY;
	return rc;
}

static void vmm_watch(const struct driver_ctx *c, const struct instance *in)
{
	char sock[4096];
	if (instance_path(c, in->name, "control.sock", sock, sizeof sock, NULL) == 0)
		watch_vm(c, in, sock);
}

static int vmm_rollback(const struct driver_ctx *c, const struct instance *in, struct err *e)
{
	return instance_kill_all(c, in->name, NULL, e);
}

/* Appends s to out (outlen bytes with the terminator), as much as fits. */
static void append(char *out, size_t outlen, const char *s)
{
	size_t have = strlen(out), n = strlen(s);
	if (n > outlen - 1 - have)
		n = outlen - 1 - have;
	memcpy(out + have, s, n);
	out[have + n] = 0;
}

/* Exec through the VMM's `exec` verb, which the guest agent serves
 * (docs/guest-agent.md), streamed: stdout and stderr into out in the order
 * the guest sent them (each line of it keeps its stream's order; between
 * the two streams the order is the agent's reads'). */
static int vmm_exec(const struct driver_ctx *c, const struct instance *in, char *const argv[],
		    int timeout_s, char *out, size_t outlen, struct err *e)
{
	char sock[4096];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	int secs = timeout_s ? timeout_s : STOP_TIMEOUT_MAX_S;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 0);
	cJSON_AddStringToObject(req, "verb", "exec");
	cJSON_AddNumberToObject(req, "version", 1);
	cJSON_AddNumberToObject(req, "timeout_ms", (double)secs * 1000);
	cJSON_AddTrueToObject(req, "stream");
	cJSON *av = cJSON_AddArrayToObject(req, "argv");
	for (int i = 0; argv[i]; i++)
		cJSON_AddItemToArray(av, cJSON_CreateString(argv[i]));
	char *line = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	if (!line)
		return err_set(e, -ENOMEM, "vm \"%s\": out of memory", in->name);
	size_t n = strlen(line);
	if (n >= VMM_REQUEST_MAX) {
		free(line);
		return err_set(e, -E2BIG, "vm \"%s\": exec: the command line is too long for the "
			       "VMM's control protocol (%zu bytes, at most %d)", in->name, n,
			       VMM_REQUEST_MAX - 1);
	}
	line[n] = '\n';
	int fd = control_connect(sock);
	if (fd < 0) {
		free(line);
		return err_set(e, fd, "vm \"%s\": control socket %s: %s", in->name, sock,
			       strerror(-fd));
	}
	ssize_t w = send(fd, line, n + 1, MSG_NOSIGNAL);
	free(line);
	if (w != (ssize_t)(n + 1)) {
		rc = err_set(e, -errno, "vm \"%s\": control socket: %s", in->name, strerror(errno));
		close(fd);
		return rc;
	}
	/* Output lines ({"stream","data"}) as the command writes, then the
	 * reply ({"ok"}) once it has ended or was killed at the timeout: wait
	 * that long and a grace more. */
	size_t cap = VMM_EXEC_LINE_MAX, have = 0;
	char *buf = malloc(cap + 1);
	int64_t deadline = (int64_t)time(NULL) + secs + VMM_EXEC_GRACE_S;
	cJSON *j = NULL;
	out[0] = 0;
	rc = 0;
	while (buf && !j) {
		char *nl = memchr(buf, '\n', have);
		if (nl) {
			*nl = 0;
			cJSON *o = cJSON_Parse(buf);
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have);
			const cJSON *data = cJSON_GetObjectItemCaseSensitive(o, "data");
			if (cJSON_GetObjectItemCaseSensitive(o, "ok")) {
				j = o;
				break;
			}
			if (cJSON_IsString(data))
				append(out, outlen, data->valuestring);
			cJSON_Delete(o);
			continue;
		}
		if (have == cap) {
			rc = err_set(e, -EPROTO, "vm \"%s\": exec: a line from the VMM longer than %zu "
				     "bytes", in->name, cap);
			break;
		}
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - (int64_t)time(NULL));
		int r = left > 0 ? poll(&pf, 1, left * 1000) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			rc = err_set(e, -ETIMEDOUT, "vm \"%s\": the VMM did not answer the exec "
				     "within %d s", in->name, secs + VMM_EXEC_GRACE_S);
			break;
		}
		ssize_t k = read(fd, buf + have, cap - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = err_set(e, -ECONNRESET, "vm \"%s\": the VMM closed its control socket "
				     "(did the VM stop?)", in->name);
			break;
		}
		have += (size_t)k;
	}
	close(fd);
	free(buf);
	if (!buf && !rc)
		return err_set(e, -ENOMEM, "vm \"%s\": out of memory", in->name);
	if (rc < 0) {
		cJSON_Delete(j);
		return rc;
	}
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(j, "ok");
	if (!cJSON_IsTrue(ok)) {
		const cJSON *er = cJSON_GetObjectItemCaseSensitive(j, "error");
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(er, "message");
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(er, "code");
		bool unknown = cJSON_IsString(code) && !strcmp(code->valuestring, "unknown-verb");
		bool noagent = cJSON_IsString(code) && (!strcmp(code->valuestring, "no-agent") ||
						       !strcmp(code->valuestring, "agent-not-running"));
		rc = err_set(e, unknown || noagent ? -ENOSYS : -EIO, "vm \"%s\": %s", in->name,
			     unknown ? "this VMM has no exec verb (started by an older nimbus)"
			     : cJSON_IsString(m) ? m->valuestring : "the VMM sent a reply it should not");
		cJSON_Delete(j);
		return rc;
	}
	const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "exit_code");
	const cJSON *sig = cJSON_GetObjectItemCaseSensitive(j, "signal");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "timed_out")))
		rc = err_set(e, -ETIMEDOUT, "vm \"%s\": %s did not end within %d s (killed)",
			     in->name, argv[0], secs);
	else if (cJSON_IsNumber(code))
		rc = code->valueint;
	else
		rc = 128 + (cJSON_IsNumber(sig) ? sig->valueint : 0);
	cJSON_Delete(j);
	return rc;
}

static int vmm_remove(const struct driver_ctx *c, const struct instance *in, struct err *e)
{
	char dir[4096];
	int rc = instance_path(c, in->name, NULL, dir, sizeof dir, e);
	if (rc < 0)
		return rc;
	watches_cancel(c->watches, in->name);
	return rm_rf(dir, e);
}

const struct driver vmm_driver = {
	.start = vmm_start,
	.stop = vmm_stop,
	.rollback = vmm_rollback,
	.exec = vmm_exec,
	.remove = vmm_remove,
	.pause = vmm_pause,
	.watch = vmm_watch,
	.exec_stream = vmm_exec_stream,
};

/* See vmm_balloon.h. */
static long long json_ll(const cJSON *o, const char *key, long long dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? (long long)v->valuedouble : dflt;
}

int vmm_balloon_sample(const struct driver_ctx *c, const struct instance *in,
		       struct vmm_balloon_sample *out, struct err *e)
{
	char sock[4096];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	int fd = control_connect(sock);
	if (fd < 0)
		return err_set(e, fd, "vm \"%s\": control socket %s: %s", in->name, sock,
			       strerror(-fd));
	*out = (struct vmm_balloon_sample){ .guest_avail = -1 };
	cJSON *st = NULL, *bs = NULL;
	rc = control_exchange_json(fd, in->name, "{\"id\":0,\"verb\":\"status\",\"version\":1}\n",
				   NULL, 0, &st, e);
	if (rc == 0) {
		const cJSON *state = cJSON_GetObjectItemCaseSensitive(st, "state");
		const cJSON *ir = cJSON_GetObjectItemCaseSensitive(st, "instret"), *x;
		out->paused = cJSON_IsString(state) && !strcmp(state->valuestring, "paused");
		out->ram = json_ll(st, "memory_bytes", 0);
		out->uptime_ms = json_ll(st, "uptime_ms", 0) - json_ll(st, "paused_ms", 0);
		out->vcpus = (int)json_ll(st, "vcpus", 1);
		cJSON_ArrayForEach(x, ir)
			if (cJSON_IsNumber(x))
				out->instret += (long long)x->valuedouble;
		/* A paused guest cannot answer for its statistics (the VMM would
		 * say stale after its wait); its target and actual still count. */
		rc = control_exchange_json(fd, in->name,
					   "{\"id\":1,\"verb\":\"balloon-stats\",\"version\":1}\n",
					   NULL, 0, &bs, e);
	}
	if (rc == 0) {
		const cJSON *g = cJSON_GetObjectItemCaseSensitive(bs, "guest");
		out->target = json_ll(bs, "target_bytes", 0);
		out->actual = json_ll(bs, "actual_bytes", 0);
		if (!out->paused && !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(bs, "stale")))
			out->guest_avail = json_ll(g, "available_bytes", -1);
	}
	cJSON_Delete(st);
	cJSON_Delete(bs);
	close(fd);
	return rc;
}

int vmm_balloon_set(const struct driver_ctx *c, const struct instance *in, long long bytes,
		    struct err *e)
{
	char sock[4096], req[128];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	snprintf(req, sizeof req, "{\"id\":0,\"verb\":\"balloon\",\"version\":1,\"size\":%lld}\n",
		 bytes);
	return control_call(sock, in->name, req, NULL, 0, e);
}

/* Sends req (taken) on a new connection to sock with nfds descriptors
 * (SCM_RIGHTS: what a jailed VMM cannot open itself); the connection, to
 * read the reply on, or -errno with e set. */
static int control_send_fds(const char *sock, const char *name, cJSON *req, const int *fds,
			    unsigned nfds, struct err *e)
{
	char *text = cJSON_PrintUnformatted(req);
	cJSON_Delete(req);
	char line[VMM_REQUEST_MAX];
	if (!text || (size_t)snprintf(line, sizeof line, "%s\n", text) >= sizeof line) {
		cJSON_free(text);
		return err_set(e, -ENAMETOOLONG, "vm \"%s\": a control request too long", name);
	}
	cJSON_free(text);
	int fd = control_connect(sock), rc;
	if (fd < 0)
		return err_set(e, fd, "vm \"%s\": control socket %s: %s", name, sock, strerror(-fd));
	if ((rc = io_send_fds(fd, line, strlen(line), fds, nfds)) < 0) {
		close(fd);
		return err_set(e, rc, "vm \"%s\": control socket: %s", name, strerror(-rc));
	}
	return fd;
}

int vmm_snapshot_save(const struct driver_ctx *c, const struct instance *in, const char *dir,
		      struct err *e)
{
	static const char *const tmp[2] = { ".memory.tmp", ".state.tmp" };
	static const char *const final[2] = { "memory", "state" };
	char sock[8192];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0 || (rc = mkdir_p(dir, 0700, e)) < 0)
		return rc;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fds[2] = { -1, -1 }, fd = -1;
	for (unsigned i = 0; i < 2 && dfd >= 0; i++)
		if ((fds[i] = openat(dfd, tmp[i], O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
				     0600)) < 0)
			break;
	if (dfd < 0 || fds[0] < 0 || fds[1] < 0) {
		rc = err_set(e, -errno, "vm \"%s\": snapshot %s: %s", in->name, dir, strerror(errno));
		goto out;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "verb", "snapshot");
	cJSON_AddStringToObject(req, "dir", dir);
	if (in->paused)
		cJSON_AddTrueToObject(req, "paused");
	const char *names[2] = { "memory", "state" };
	cJSON_AddItemToObject(req, "fds", cJSON_CreateStringArray(names, 2));
	if ((fd = control_send_fds(sock, in->name, req, fds, 2, e)) < 0) {
		rc = fd;
		goto out;
	}
	cJSON *reply = NULL;
	if ((rc = control_read_reply(fd, in->name, VMM_SNAPSHOT_WAIT_MS, NULL, 0, &reply, e)) < 0)
		goto out;
	rc = save_slot_list(dfd, dir, in->name, reply, "disk_slots", VMM_DISK_SLOTS_FILE, e);
	if (rc == 0)
		rc = save_slot_list(dfd, dir, in->name, reply, "nic_slots", VMM_NIC_SLOTS_FILE, e);
	cJSON_Delete(reply);
	/* The VMM synced the files: into place, memory first, state the commit. */
	for (unsigned i = 0; i < 2 && rc == 0; i++)
		if (renameat(dfd, tmp[i], dfd, final[i]) < 0)
			rc = err_set(e, -errno, "vm \"%s\": snapshot %s/%s: %s", in->name, dir,
				     final[i], strerror(errno));
	if (rc == 0)
		fsync(dfd);
out:
	if (fd >= 0)
		close(fd);
	for (unsigned i = 0; i < 2; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		if (rc < 0 && dfd >= 0)
			unlinkat(dfd, tmp[i], 0);
	}
	if (dfd >= 0)
		close(dfd);
	return rc;
}

/* ---- migration (vmm_migrate.h) ------------------------------------------- */

/* The progress events waiting on the events connection ev (buf holds a
 * partial line between calls), handed to progress. */
static void read_progress(int ev, char *buf, size_t cap, size_t *have, vmm_progress_fn *progress,
			  void *arg)
{
	ssize_t n = read(ev, buf + *have, cap - 1 - *have);
	if (n <= 0)
		return;
	*have += (size_t)n;
	buf[*have] = 0;
	char *line = buf, *nl;
	while ((nl = strchr(line, '\n'))) {
		*nl = 0;
		cJSON *j = cJSON_Parse(line);
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "migration");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(m, "stage");
		if (progress && cJSON_IsObject(m) && cJSON_IsString(st)) {
			struct vmm_migration_progress p = {
				.stage = st->valuestring,
				.round = (unsigned)cJSON_GetNumberValue(
					cJSON_GetObjectItemCaseSensitive(m, "round")),
				.pages_sent = (uint64_t)cJSON_GetNumberValue(
					cJSON_GetObjectItemCaseSensitive(m, "pages_sent")),
				.pages_left = (uint64_t)cJSON_GetNumberValue(
					cJSON_GetObjectItemCaseSensitive(m, "pages_left")),
				.dirty_pages_per_s = cJSON_GetNumberValue(
					cJSON_GetObjectItemCaseSensitive(m, "dirty_pages_per_s")),
				.expected_downtime_ms = cJSON_GetNumberValue(
					cJSON_GetObjectItemCaseSensitive(m, "expected_downtime_ms")) };
			progress(arg, &p);
		}
		cJSON_Delete(j);
		line = nl + 1;
	}
	*have -= (size_t)(line - buf);
	memmove(buf, line, *have);
	if (*have == cap - 1)
		*have = 0;   /* a line longer than any event: drop it */
}

int vmm_migrate_send(const struct driver_ctx *c, const struct instance *in, const char *uri,
		     int conn, bool copy_storage, vmm_progress_fn *progress, void *arg,
		     struct vmm_migration_result *res, struct err *e)
{
	char sock[8192];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	/* Subscribed first, so no progress event is missed. */
	int ev = control_connect(sock);
	if (ev >= 0 && control_exchange(ev, in->name, "{\"id\":0,\"verb\":\"events\",\"version\":1}\n",
					NULL, 0, NULL) < 0) {
		close(ev);
		ev = -1;
	}
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "verb", "migrate");
	cJSON_AddStringToObject(req, "uri", uri);
	if (copy_storage)
		cJSON_AddTrueToObject(req, "copy_storage");
	const char *names[1] = { "socket" };
	cJSON_AddItemToObject(req, "fds", cJSON_CreateStringArray(names, 1));
	int fd = control_send_fds(sock, in->name, req, &conn, 1, e);
	if (fd < 0) {
		if (ev >= 0)
			close(ev);
		return fd;
	}
	char buf[4096];
	size_t have = 0;
	for (;;) {
		struct pollfd pf[2] = { { .fd = fd, .events = POLLIN }, { .fd = ev, .events = POLLIN } };
		int n = poll(pf, ev >= 0 ? 2 : 1, VMM_MIGRATE_WAIT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && ev >= 0 && (pf[1].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !(pf[0].revents & POLLIN)) {
			if (pf[1].revents & POLLIN)
				read_progress(ev, buf, sizeof buf, &have, progress, arg);
			else {
				close(ev);
				ev = -1;
			}
			continue;
		}
		break;
	}
	cJSON *reply = NULL;
	rc = control_read_reply(fd, in->name, VMM_MIGRATE_WAIT_MS, NULL, 0, &reply, e);
	if (rc == 0 && res) {
		*res = (struct vmm_migration_result){
			.rounds = (unsigned)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "rounds")),
			.bytes_sent = (uint64_t)cJSON_GetNumberValue(
				cJSON_GetObjectItemCaseSensitive(reply, "bytes_sent")),
			.total_ms = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(reply, "total_ms")),
			.downtime_ms = cJSON_GetNumberValue(
				cJSON_GetObjectItemCaseSensitive(reply, "downtime_ms")) };
	}
	cJSON_Delete(reply);
	close(fd);
	if (ev >= 0)
		close(ev);
	return rc;
}

/* See vmm_hotplug.h.  One request (with fd passed, when >= 0); the VMM's
 * error codes become errnos. */
static int disk_verb(const struct driver_ctx *c, const struct instance *in, const char *verb,
		     const char *serial, int fd, struct err *e)
{
	char sock[8192], cut[VMM_SERIAL_MAX + 1], code[32] = "";
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	snprintf(cut, sizeof cut, "%.*s", VMM_SERIAL_MAX, serial);
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "verb", verb);
	cJSON_AddNumberToObject(req, "version", 1);
	cJSON_AddStringToObject(req, "serial", cut);
	if (fd >= 0) {
		const char *names[1] = { "disk" };
		cJSON_AddItemToObject(req, "fds", cJSON_CreateStringArray(names, 1));
	}
	char *text = cJSON_PrintUnformatted(req), line[VMM_REQUEST_MAX];
	cJSON_Delete(req);
	if (!text)
		return err_set(e, -ENOMEM, "vm \"%s\": out of memory", in->name);
	snprintf(line, sizeof line, "%s\n", text);
	cJSON_free(text);
	int s = control_connect(sock);
	if (s < 0)
		return err_set(e, s, "vm \"%s\": control socket %s: %s", in->name, sock, strerror(-s));
	rc = fd >= 0 ? io_send_fds(s, line, strlen(line), &fd, 1) : io_send_all(s, line, strlen(line));
	if (rc < 0)
		rc = err_set(e, rc, "vm \"%s\": control socket: %s", in->name, strerror(-rc));
	else
		rc = control_read_reply(s, in->name, VMM_REPLY_WAIT_MS, code, sizeof code, NULL, e);
	close(s);
	if (rc == -EPROTO)
		rc = !strcmp(code, "no-slot") ? -ENOSPC : !strcmp(code, "no-disk") ? -ENOENT
		   : !strcmp(code, "unknown-verb") ? -ENOTSUP : rc;
	return rc;
}

int vmm_disk_insert(const struct driver_ctx *c, const struct instance *in, const char *path,
		    const char *serial, struct err *e)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return err_set(e, -errno, "vm \"%s\": %s: %s", in->name, path, strerror(errno));
	int rc = disk_verb(c, in, "disk-insert", serial, fd, e);
	close(fd);
	return rc;
}

void vmm_nic_slot_mac(const char *key, int idx, uint8_t mac[6])
{
	uint32_t h = 2166136261u;   /* FNV-1a: the same on every start */
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	uint32_t tail = (h & 0xfffffu) << 4 | ((unsigned)idx & 15u);
	mac[0] = 0x52, mac[1] = 0x54, mac[2] = 0x02;
	mac[3] = (uint8_t)(tail >> 16), mac[4] = (uint8_t)(tail >> 8), mac[5] = (uint8_t)tail;
}

int vmm_nic_insert(const struct driver_ctx *c, const struct instance *in, int tap,
		   const char *ifname, char mac[18], struct err *e)
{
	char sock[8192], code[32] = "";
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	cJSON *req = cJSON_CreateObject();
	cJSON_AddNumberToObject(req, "id", 1);
	cJSON_AddStringToObject(req, "verb", "nic-insert");
	cJSON_AddNumberToObject(req, "version", 1);
	cJSON_AddStringToObject(req, "ifname", ifname);
	const char *names[1] = { "tap" };
	cJSON_AddItemToObject(req, "fds", cJSON_CreateStringArray(names, 1));
	int s = control_send_fds(sock, in->name, req, &tap, 1, e);   /* takes req */
	if (s < 0)
		return s;
	cJSON *reply = NULL;
	rc = control_read_reply(s, in->name, VMM_REPLY_WAIT_MS, code, sizeof code, &reply, e);
	close(s);
	if (rc == -EPROTO)
		return !strcmp(code, "no-slot") ? -ENOSPC : !strcmp(code, "unknown-verb") ? -ENOTSUP
		       : rc;
	if (rc < 0)
		return rc;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(reply, "mac");
	if (!cJSON_IsString(m) || strlen(m->valuestring) != 17)
		rc = err_set(e, -EPROTO, "vm \"%s\": nic-insert: the reply has no MAC", in->name);
	else
		memcpy(mac, m->valuestring, 18);
	cJSON_Delete(reply);
	return rc;
}

int vmm_nic_eject(const struct driver_ctx *c, const struct instance *in, const char *mac,
		  struct err *e)
{
	char sock[8192], code[32] = "", req[160];
	int rc = instance_path(c, in->name, "control.sock", sock, sizeof sock, e);
	if (rc < 0)
		return rc;
	if (strlen(mac) != 17 || strspn(mac, "0123456789abcdefABCDEF:") != 17)
		return err_set(e, -EINVAL, "vm \"%s\": NIC %.20s: not a MAC", in->name, mac);
	snprintf(req, sizeof req, "{\"id\":1,\"verb\":\"nic-eject\",\"version\":1,\"mac\":\"%s\"}\n",
		 mac);
	rc = control_call(sock, in->name, req, code, sizeof code, e);
	if (rc == -EPROTO)
		rc = !strcmp(code, "no-nic") ? -ENOENT : !strcmp(code, "unknown-verb") ? -ENOTSUP : rc;
	return rc;
}

int vmm_disk_eject(const struct driver_ctx *c, const struct instance *in, const char *serial,
		   struct err *e)
{
	return disk_verb(c, in, "disk-eject", serial, -1, e);
}
