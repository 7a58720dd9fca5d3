/*
 * Live migration, both ends (vm_migrate.h; the stream is in
 * docs/migration.md): the source, and the target's socket.  The stream's
 * wire helpers are in vm_migrate_wire.c, the target's parser of it in
 * vm_migrate_recv.c (fuzzed on its own: fuzz/migrate_fuzz.c).
 *
 * The stream: a 24-byte header ("NIMBMIGR", u32 version, u32 arch, u64
 * ram_size), then frames: u8 type, u32 payload length, payload, u32 CRC-32
 * of type, length and payload.  'P': pages, each u64 page number + 4096
 * bytes; 'Z': page numbers of pages that are zero now; 'H' (only with
 * opts.verify, just before 'S'): a u64 hash of every page, in page order,
 * taken with the VM paused after its last page went; 'S': the state file
 * (snapshot.md), the last frame.  The target answers one frame of its own:
 * 'K' (running) or 'F' with a one-line reason.
 *
 * Correctness of pre-copy: dirty logging (bus.h) is on from before the first
 * page is read; each round takes the pages logged since the last and sends
 * their current bytes, so a page written after it was sent is logged again.
 * The last round runs with the VM paused and includes every page a device
 * was handed for writing, so nothing written is left behind.
 *
 * Disks (shared storage): the source's image locks (block.c: OFD locks)
 * would keep the target from opening them.  With the VM paused and its
 * disks flushed, the source drops its write locks just before the state
 * goes out, and takes them back if the target fails.
 *
 * Disks (copy_storage): after the header, 'B' gives each disk's size; the
 * disks then go as 'D' (u32 disk, u64 offset, data) and 'E' (u32 disk, u64
 * offset, u64 length: reads as zeroes) frames, a chunk (block_dirty.h) at a
 * time.  Tracking starts with every chunk dirty, before the first is read,
 * and each round (the paused one included, with the devices quiesced) sends
 * the chunks written since, as it does pages.  The target writes them into
 * its own images (opened for the stream, closed before it builds the VM)
 * and skips the shared-storage identity check; the source keeps its locks.
 */
#include "vmm/vm_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/zero.h"
#include "vmm/board/virt.h"
#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/snap_stream.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/block.h"
#include "vmm/virtio/block_dirty.h"
#include "vmm/vm_internal.h"
#include "vmm/vm_migrate_recv.h"
#include "vmm/vm_migrate_wire.h"
#include "vmm/vm_postcopy.h"

#define MAX_ROUNDS 30
#define DONE_PAGES 256u             /* always small enough for the paused round (1 MiB) */
#define IO_TIMEOUT_S 30
#define ANSWER_TIMEOUT_S 120        /* the target builds the VM before it answers */
#define DRAIN_MAX_MS 2000

/* ---- sockets ----------------------------------------------------------- */

struct uri {
	bool unix_sock;
	char path[108];
	char host[256], port[16];
};

static int parse_uri(const char *s, struct uri *u, struct err *err)
{
	memset(u, 0, sizeof *u);
	if (!strncmp(s, "unix:", 5)) {
		if (!s[5] || strlen(s + 5) >= sizeof u->path)
			return err_set(err, -EINVAL, "%s: the socket path is empty or too long", s);
		u->unix_sock = true;
		snprintf(u->path, sizeof u->path, "%s", s + 5);
		return 0;
	}
	if (!strncmp(s, "tcp:", 4)) {
		const char *hp = s + 4, *colon = strrchr(hp, ':');
		if (!colon || !colon[1] || (size_t)(colon - hp) >= sizeof u->host ||
		    strlen(colon + 1) >= sizeof u->port)
			return err_set(err, -EINVAL, "%s: expected tcp:HOST:PORT", s);
		memcpy(u->host, hp, (size_t)(colon - hp));
		snprintf(u->port, sizeof u->port, "%s", colon + 1);
		char *end;
		long port = strtol(u->port, &end, 10);
		if (*end || port < 1 || port > 65535)
			return err_set(err, -EINVAL, "%s: port %s: not 1 to 65535", s, u->port);
		/* [::1] style */
		size_t n = strlen(u->host);
		if (n >= 2 && u->host[0] == '[' && u->host[n - 1] == ']') {
			memmove(u->host, u->host + 1, n - 2);
			u->host[n - 2] = 0;
		}
		return 0;
	}
	return err_set(err, -EINVAL, "%s: expected unix:PATH or tcp:HOST:PORT", s);
}

int vm_migrate_uri_check(const char *uri, struct err *err)
{
	struct uri u;
	return parse_uri(uri, &u, err);
}

static void set_timeouts(int fd, int seconds)
{
	struct timeval tv = { .tv_sec = seconds };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/*
 * Socket buffers large enough for the paused round: with the default 208
 * KiB the source blocked on its last pages (about 50 of an idle guest, 200
 * KiB in frames) until the target was scheduled and read them, 1-10 ms of
 * downtime on a loaded host.  The kernel caps both at net.core.wmem_max and
 * rmem_max (4 MiB here; 208 KiB on a default Debian, then this is a no-op).
 */
#define SOCK_BUF_BYTES (4 << 20)

static void set_buffers(int fd)
{
	int n = SOCK_BUF_BYTES;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &n, sizeof n);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &n, sizeof n);
}

static int open_socket(const char *uri, bool listening, struct err *err)
{
	struct uri u;
	int rc = parse_uri(uri, &u, err);
	if (rc)
		return rc;
	if (u.unix_sock) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		memcpy(sa.sun_path, u.path, strlen(u.path));
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return err_set(err, -errno, "%s: %s", uri, strerror(errno));
		if (listening) {
			unlink(u.path);   /* a stale socket of an earlier target */
			if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1) < 0) {
				rc = -errno;
				close(fd);
				return err_set(err, rc, "%s: %s", uri, strerror(-rc));
			}
			chmod(u.path, 0600);
		} else if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			rc = -errno;
			close(fd);
			return err_set(err, rc, "%s: %s", uri, strerror(-rc));
		}
		return fd;
	}
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = listening ? AI_PASSIVE : 0 };
	struct addrinfo *ai = NULL;
	int g = getaddrinfo(u.host[0] ? u.host : NULL, u.port, &hints, &ai);
	if (g)
		return err_set(err, -EINVAL, "%s: %s", uri, gai_strerror(g));
	rc = -ECONNREFUSED;
	for (struct addrinfo *a = ai; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		int one = 1;
		if (listening) {
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
			if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1) == 0) {
				freeaddrinfo(ai);
				return fd;
			}
		} else if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof one);
			freeaddrinfo(ai);
			return fd;
		}
		rc = -errno;
		close(fd);
	}
	freeaddrinfo(ai);
	return err_set(err, rc, "%s: %s", uri, strerror(-rc));
}

/* ---- source ------------------------------------------------------------ */

static int send_page(struct mig_sender *s, uint64_t pfn)
{
	return mig_sender_page(s, pfn, mig_page_is_zero(s->ram + pfn * MIG_PAGE));
}

static int send_bitmap(struct mig_sender *s, const uint64_t *bm, uint64_t npages)
{
	for (uint64_t w = 0; w < (npages + 63) / 64; w++)
		for (uint64_t b = bm[w]; b; b &= b - 1) {
			int rc = send_page(s, w * 64 + (uint64_t)__builtin_ctzll(b));
			if (rc)
				return rc;
		}
	return mig_sender_flush(s);
}

/* ---- source: the disks (copy_storage) ---------------------------------- */

struct disk_copy {
	struct virtio_device *dev[VM_MAX_DISKS];
	struct block_dirty dirty[VM_MAX_DISKS];
	unsigned n;                 /* tracked (and to untrack) */
	uint8_t *buf;               /* MIG_DISK_FRAME_MAX */
	bool read_failed;           /* the last error was a disk read's (err says so) */
};

/* Starts tracking every disk with every chunk dirty: the first pass sends it all. */
static int disk_copy_start(struct disk_copy *dc, const struct vm_parts *p, int fd)
{
	if (!(dc->buf = malloc(MIG_DISK_FRAME_MAX)))
		return -ENOMEM;
	uint8_t b[4 + 8 * VM_MAX_DISKS];
	mig_put32(b, p->ndisks);
	for (unsigned i = 0; i < p->ndisks; i++) {
		uint64_t size = virtio_blk_size(p->disks[i]);
		if (block_dirty_init(&dc->dirty[i], size))
			return -ENOMEM;
		dc->dev[i] = p->disks[i];
		dc->n = i + 1;
		block_dirty_mark_all(&dc->dirty[i]);
		virtio_blk_track(dc->dev[i], &dc->dirty[i]);
		mig_put64(b + 4 + 8 * i, size);
	}
	return mig_send_frame(fd, 'B', b, 4 + 8 * p->ndisks);
}

static void disk_copy_stop(struct disk_copy *dc)
{
	for (unsigned i = 0; i < dc->n; i++) {
		virtio_blk_track(dc->dev[i], NULL);   /* under the device lock: no mark after */
		block_dirty_free(&dc->dirty[i]);
	}
	dc->n = 0;
	free(dc->buf);
	dc->buf = NULL;
}

static uint64_t disk_dirty_pages(const struct disk_copy *dc)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < dc->n; i++)
		n += block_dirty_count(&dc->dirty[i]) * (BLOCK_DIRTY_CHUNK / MIG_PAGE);
	return n;
}

/* Sends every chunk dirty now; its bit is taken before it is read (block_dirty.h). */
static int disk_send_dirty(struct disk_copy *dc, int fd, struct vm_migrate_info *info,
			   struct err *err)
{
	for (unsigned i = 0; i < dc->n; i++) {
		struct block_dirty *d = &dc->dirty[i];
		for (uint64_t c = block_dirty_next(d, 0); c < d->chunks; c = block_dirty_next(d, c + 1)) {
			if (!block_dirty_take(d, c))
				continue;
			uint64_t off = c * BLOCK_DIRTY_CHUNK;
			uint64_t len = d->size - off < BLOCK_DIRTY_CHUNK ? d->size - off : BLOCK_DIRTY_CHUNK;
			mig_put32(dc->buf, i);
			mig_put64(dc->buf + 4, off);
			/* A hole needs no read: it goes as zeroes. */
			int rc = 0;
			if (!virtio_blk_may_hold_data(dc->dev[i], off, len))
				memset(dc->buf + MIG_DISK_HDR, 0, len);
			else
				rc = virtio_blk_read_disk(dc->dev[i], off, dc->buf + MIG_DISK_HDR, len);
			if (rc && (dc->read_failed = true))
				return err_set(err, rc, "migrate: disk%u: cannot read at %llu: %s (the VM "
					       "runs on here)", i, (unsigned long long)off, strerror(-rc));
			if (bytes_are_zero(dc->buf + MIG_DISK_HDR, len)) {
				mig_put64(dc->buf + MIG_DISK_HDR, len);
				rc = mig_send_frame(fd, 'E', dc->buf, MIG_DISK_HDR + 8);
				info->bytes_sent += MIG_DISK_HDR + 8;
			} else {
				rc = mig_send_frame(fd, 'D', dc->buf, (uint32_t)(MIG_DISK_HDR + len));
				info->bytes_sent += MIG_DISK_HDR + len;
				info->disk_bytes_sent += len;
			}
			if (rc)
				return rc;
		}
	}
	return 0;
}

/*
 * The disks' write locks, dropped for the target and taken back if it
 * fails.  The block backends own their descriptors, so they are found by
 * identity (the image each backend holds) among this process's open
 * files, before the VM pauses.  Jailed, /proc/self/fd is out of reach:
 * then every descriptor below the usual limit is tried (a VMM holds a few
 * dozen, given out lowest first).
 */
#define LOCK_SCAN_FDS 1024

struct disk_lock_fds {
	int fd[VM_MAX_DISKS * 2];
	unsigned n;
};

static void disk_lock_try(const struct vm_parts *p, int fd, struct disk_lock_fds *out)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) != O_RDWR || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	for (unsigned i = 0; i < p->ndisks && out->n < sizeof out->fd / sizeof out->fd[0]; i++) {
		struct stat ds;
		if (!virtio_blk_image_stat(p->disks[i], &ds) && ds.st_dev == st.st_dev &&
		    ds.st_ino == st.st_ino) {
			out->fd[out->n++] = fd;
			return;
		}
	}
}

static void disk_lock_find(const struct vm_parts *p, struct disk_lock_fds *out)
{
	out->n = 0;
	if (p->cfg->sandboxed) {
		for (int fd = 0; fd < LOCK_SCAN_FDS; fd++)
			disk_lock_try(p, fd, out);
		return;
	}
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.' && atoi(e->d_name) != dirfd(d))
			disk_lock_try(p, atoi(e->d_name), out);
	closedir(d);
}

static void disk_locks(const struct disk_lock_fds *l, bool take)
{
	for (unsigned i = 0; i < l->n; i++) {
		struct flock fl = { .l_type = take ? F_WRLCK : F_UNLCK, .l_whence = SEEK_SET };
		(void)fcntl(l->fd[i], F_OFD_SETLK, &fl);
	}
}

/*
 * Waits (at most DRAIN_MAX_MS) until the target has read everything sent:
 * what a round leaves in the socket's buffers would otherwise be pushed by
 * the paused round, with the guest standing still (12 ms of the downtime
 * of an idle guest went there), and it would count as sent when it is not.
 */
static void wait_drained(int fd)
{
	int64_t until = vclock_host_ns() + (int64_t)DRAIN_MAX_MS * 1000000;
	int queued;
	while (ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0 && vclock_host_ns() < until) {
		struct timespec ts = { .tv_nsec = 100000 };   /* 0.1 ms */
		nanosleep(&ts, NULL);
	}
}

/* A progress event (VM_EVENT_MIGRATION) to the VM's listeners: what a
 * daemon shows as the operation's progress.  Never in the paused round. */
static void report(struct vm *vm, const char *stage, const struct vm_migrate_info *info,
		   uint64_t left, int64_t since_collect_ns, double pages_per_ms)
{
	struct vm_event ev = { .kind = VM_EVENT_MIGRATION };
	ev.mig = (struct vm_migration_progress){
		.stage = stage, .round = info->rounds, .pages_sent = info->pages_sent,
		.bytes_sent = info->bytes_sent, .pages_left = left,
		.dirty_pages_per_s = since_collect_ns > 0 ? (double)left * 1e9 / (double)since_collect_ns : 0,
		.expected_downtime_ms = pages_per_ms > 0 ? (double)left / pages_per_ms : 0 };
	snprintf(ev.detail, sizeof ev.detail, "%s: round %u, %llu pages sent, %llu left", stage,
		 info->rounds, (unsigned long long)info->pages_sent, (unsigned long long)left);
	vm_publish_event(vm, &ev);
}

/* The target's answer: 0, or -EREMOTEIO with its reason in err. */
static int read_answer(int fd, struct err *err)
{
	set_timeouts(fd, ANSWER_TIMEOUT_S);
	uint8_t t;
	int rc = mig_recv_all(fd, &t, 1);
	if (rc)
		return err_set(err, rc, "migrate: no answer from the target: %s", strerror(-rc));
	if (t == 'K')
		return 0;
	if (t == 'F')
		return mig_read_refusal(fd, err);
	return err_set(err, -EREMOTEIO, "migrate: the target refused the VM: no reason given");
}

/* Never-touched pages are zero and are not read: reading one faults the
 * zero page in, which cost seconds over 256 MiB on a loaded host. */
static int send_hashes(int fd, const struct bus *bus, uint64_t npages)
{
	uint8_t *h = malloc(npages * 8), *touched = malloc(npages);
	int rc = -ENOMEM;
	if (h && touched) {
		bus_ram_touched(bus, 0, npages, touched);
		uint64_t zh = mig_zero_page_hash();
		for (uint64_t i = 0; i < npages; i++)
			mig_put64(h + i * 8, touched[i] ? mig_page_hash(bus->ram + i * MIG_PAGE) : zh);
		rc = mig_send_frame(fd, 'H', h, (uint32_t)(npages * 8));
	}
	free(h);
	free(touched);
	return rc;
}

/*
 * The device state, the last frame before the answer; with drop_locks the
 * disks' locks go first, for the target to take.  0 or -errno with err set.
 */
static int send_state(struct vm *vm, int fd, const char *uri, const struct disk_lock_fds *drop,
		      struct vm_migrate_info *info, struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	struct snap_out o;
	int rc = vm_state_build(vm, vm_snapshot_new_id(), NULL, 0, false, NULL, &o, err);
	if (rc)
		return rc;
	if (drop)
		disk_locks(drop, false);
	rc = o.len > MIG_STATE_MAX ? -E2BIG : mig_send_frame(fd, 'S', o.buf, (uint32_t)o.len);
	info->bytes_sent += o.len;
	snap_out_free(&o);
	if (rc)
		err_set(err, rc, "migrate: %s: %s (the VM runs on here)", uri, strerror(-rc));
	return rc;
}

int vm_migrate(struct vm *vm, const char *uri, const struct vm_migrate_opts *opts,
	       struct vm_migrate_info *info, struct err *err)
{
	struct vm_migrate_opts defaults = {0};
	opts = opts ? opts : &defaults;
	unsigned downtime_ms = opts->downtime_ms;
	struct vm_migrate_info local = {0};
	info = info ? info : &local;
	memset(info, 0, sizeof *info);
	struct vm_parts p;
	vm_parts(vm, &p);
	if (p.cfg->sandboxed && !opts->have_conn)
		return err_set(err, -EPERM, "migrate: a sandboxed VM (--sandbox) connects nowhere: "
			       "its client must pass the connection (docs/sandbox.md)");
	/* A hot-plugged disk goes by its slot (the target is started with it,
	 * --slot-disk, and checks it); --copy-storage copies only the disks
	 * the VM started with. */
	int hrc = opts->copy_storage ? vm_disk_slots_check_empty(vm, "migrate --copy-storage", err)
				     : 0;
	if (hrc)
		return hrc;
	if (opts->postcopy && (opts->copy_storage || opts->verify))
		return err_set(err, -EINVAL, "migrate: postcopy with %s: not supported (the pages "
			       "reach the target after the VM runs there)",
			       opts->copy_storage ? "copy_storage" : "verify");
	int64_t t0 = vclock_host_ns();
	struct vm_status st;
	vm_query(vm, &st);
	if (st.state != VM_STATE_RUNNING && st.state != VM_STATE_PAUSED)
		return err_set(err, -ESRCH, "migrate: the VM is not running (%s)",
			       vm_state_name(st.state));
	if (atomic_exchange(&p.chain->migrating, true))
		return err_set(err, -EBUSY, "migrate: a migration of this VM is already running");
	int fd = opts->have_conn ? opts->conn : open_socket(uri, false, err);
	if (fd < 0) {
		atomic_store(&p.chain->migrating, false);
		return fd;
	}
	struct disk_lock_fds locks;
	disk_lock_find(&p, &locks);
	set_timeouts(fd, IO_TIMEOUT_S);
	set_buffers(fd);
	uint64_t npages = p.bus->ram_size / MIG_PAGE;
	struct mig_sender s = { .fd = fd, .ram = p.bus->ram, .info = info };
	uint64_t *bm = calloc((npages + 63) / 64, 8);
	uint8_t *touched = malloc(npages);
	s.buf = malloc(MIG_PAGES_PER_FRAME * MIG_REC);
	struct disk_copy dc = {0};
	bool paused_here = false, locks_dropped = false;
	int rc = 0;
	if (!bm || !touched || !s.buf) {
		rc = err_set(err, -ENOMEM, "migrate: out of memory");
		goto out;
	}
	uint8_t hdr[MIG_HEADER_BYTES] = MIG_MAGIC;
	mig_put32(hdr + 8, MIG_VERSION);
	mig_put32(hdr + 12, SNAP_ARCH_RISCV64);
	mig_put64(hdr + 16, p.bus->ram_size);
	if ((rc = mig_send_all(fd, hdr, sizeof hdr)))
		goto io;
	if (opts->postcopy) {
		bool ran = false;
		rc = vm_pause(vm, err);
		if (rc && rc != -EALREADY)
			goto out;
		paused_here = rc == 0;
		int64_t down0 = vclock_host_ns();
		if ((rc = mig_send_frame(fd, 'Q', "", 0)))
			goto io;
		locks_dropped = true;
		if ((rc = send_state(vm, fd, uri, &locks, info, err)))
			goto out;
		info->stop_copy_ns = vclock_host_ns() - down0;
		rc = mig_postcopy_serve(fd, p.bus, down0, info, &ran, err);
		info->total_ns = vclock_host_ns() - t0;
		if (rc && !ran)
			goto out;   /* the target never ran: the VM runs on here */
		char why[400];
		snprintf(why, sizeof why, rc ? "post-copy to %s broke off after the target took "
			 "over: the VM is lost (%.200s)" : "migrated to %s", uri, err->msg);
		vm_request_stop_reason(vm, why);
		if (rc)
			err_set(err, rc, "migrate: %s", why);
		goto done;
	}
	/* The disks first: the largest part, sent while the guest runs. */
	if (opts->copy_storage) {
		if ((rc = disk_copy_start(&dc, &p, fd)) == -ENOMEM) {
			err_set(err, rc, "migrate: out of memory");
			goto out;
		}
		if (rc)
			goto io;
		if ((rc = disk_send_dirty(&dc, fd, info, err)))
			goto disk_io;
	}

	/* Logging first, then the first pass: whatever changes under the
	 * pass is logged and sent again. */
	p.chain->valid = false;   /* the log now serves the migration */
	if ((rc = bus_dirty_start(p.bus))) {
		err_set(err, rc, "migrate: out of memory");
		goto out;
	}
	int64_t collected_at = vclock_host_ns();
	bus_ram_touched(p.bus, 0, npages, touched);
	for (uint64_t i = 0; i < npages && !rc; i++)
		if (touched[i] && !mig_page_is_zero(p.bus->ram + i * MIG_PAGE))
			rc = send_page(&s, i);
	if (rc || (rc = mig_sender_flush(&s)))
		goto io;

	/* The rate so far says how many pages the paused round may take. */
	if (!downtime_ms)
		downtime_ms = VM_MIGRATE_DOWNTIME_MS;
	for (unsigned r = 0; r < MAX_ROUNDS; r++) {
		wait_drained(fd);
		int64_t el = vclock_host_ns() - t0;
		double pages_per_ms = el > 0 ? (double)info->bytes_sent / MIG_REC / ((double)el / 1e6) : 0;
		uint64_t budget = (uint64_t)(pages_per_ms * downtime_ms);
		if (budget < DONE_PAGES)
			budget = DONE_PAGES;
		memset(bm, 0, (npages + 63) / 64 * 8);
		uint64_t left = disk_dirty_pages(&dc);
		for (uint64_t w = 0; w < (npages + 63) / 64; w++)
			left += (uint64_t)__builtin_popcountll(atomic_load(&p.bus->dirty[w]));
		/* The paused round takes the rest; but after the first pass, which
		 * took long enough for a busy guest to dirty megabytes that the
		 * budget (at the first pass's rate) lets through, one more round
		 * while it runs leaves only what it wrote during that round. */
		bool last = left <= budget && (info->rounds > 0 || left <= DONE_PAGES);
		report(vm, last ? "stop-copy" : r ? "round" : "first-pass", info, left,
		       vclock_host_ns() - collected_at, pages_per_ms);
		if (last)
			break;
		bus_dirty_collect(p.bus, bm, false);
		collected_at = vclock_host_ns();
		info->rounds++;
		if ((rc = send_bitmap(&s, bm, npages)))
			goto io;
		if ((rc = disk_send_dirty(&dc, fd, info, err)))
			goto disk_io;
	}

	/* Stop and copy. */
	int64_t down0 = vclock_host_ns();
	rc = vm_pause(vm, err);
	if (rc && rc != -EALREADY)
		goto out;
	paused_here = rc == 0;
	rc = 0;
	memset(bm, 0, (npages + 63) / 64 * 8);
	bus_dirty_collect(p.bus, bm, true);
	if ((rc = send_bitmap(&s, bm, npages)))
		goto io;
	/* Paused, the devices quiesced: no write is in flight, none comes. */
	if ((rc = disk_send_dirty(&dc, fd, info, err)))
		goto disk_io;
	if (opts->verify && (rc = send_hashes(fd, p.bus, npages)))
		goto io;
	/* With the disks copied the target writes its own images: the source's
	 * stay locked (a target naming the same files fails, and this VM runs on). */
	locks_dropped = !opts->copy_storage;
	if ((rc = send_state(vm, fd, uri, locks_dropped ? &locks : NULL, info, err)))
		goto out;
	info->stop_copy_ns = vclock_host_ns() - down0;
	if ((rc = read_answer(fd, err)))
		goto out;
	info->downtime_ns = vclock_host_ns() - down0;
	info->total_ns = vclock_host_ns() - t0;
	bus_dirty_stop(p.bus);
	disk_copy_stop(&dc);
	char why[300];
	snprintf(why, sizeof why, "migrated to %s", uri);
	vm_request_stop_reason(vm, why);
	goto done;
disk_io:
	if (dc.read_failed)
		goto out;
io:
	err_set(err, rc, "migrate: %s: %s (the VM runs on here)", uri, strerror(-rc));
out:
	bus_dirty_stop(p.bus);
	disk_copy_stop(&dc);
	if (locks_dropped)
		disk_locks(&locks, true);
	if (paused_here)
		vm_resume(vm, false, NULL);
done:
	atomic_store(&p.chain->migrating, false);
	free(bm);
	free(touched);
	free(s.buf);
	if (!opts->have_conn)
		close(fd);
	return rc;
}

int vm_migrate_connect(const char *uri, struct err *err)
{
	return open_socket(uri, false, err);
}

/* ---- target ------------------------------------------------------------ */

static int receive(const char *uri, uint64_t ram_size, void *dest, const struct vm_config *cfg,
		   struct vm_incoming *out, int *conn, struct err *err)
{
	memset(out, 0, sizeof *out);
	*conn = -1;
	out->what = uri;
	int lfd = open_socket(uri, true, err);
	if (lfd < 0)
		return lfd;
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	int rc = fd < 0 ? -errno : 0;
	close(lfd);
	struct uri u;
	if (!parse_uri(uri, &u, NULL) && u.unix_sock)
		unlink(u.path);
	if (rc)
		return err_set(err, rc, "%s: accept: %s", uri, strerror(-rc));
	*conn = fd;
	set_timeouts(fd, IO_TIMEOUT_S);
	set_buffers(fd);
	return vm_migrate_read_stream(fd, uri, ram_size, dest, cfg, out, err);
}

int vm_migrate_receive(const char *uri, uint64_t ram_size, struct vm_incoming *out, int *conn,
		       struct err *err)
{
	return receive(uri, ram_size, NULL, NULL, out, conn, err);
}

int vm_migrate_receive_into(struct vm *vm, const char *uri, struct vm_incoming *out, int *conn,
			    struct err *err)
{
	struct vm_parts p;
	vm_parts(vm, &p);
	/* Zero still: the VM was built ahead and has not run. */
	return receive(uri, p.bus->ram_size, p.bus->ram, p.cfg, out, conn, err);
}

void vm_migrate_answer(int conn, int rc, const char *msg, struct vm_incoming *in)
{
	if (conn >= 0) {
		(void)mig_send_answer(conn, rc, msg);
		close(conn);
	}
	if (in->ram && !in->ram_is_vms)
		munmap(in->ram, in->ram_size);
	in->ram = NULL;
	free(in->state);
	in->state = NULL;
	for (unsigned i = 0; i < VM_MAX_DISKS; i++) {   /* layers no VM took */
		block_backend_close(in->disk_layer[i]);
		in->disk_layer[i] = NULL;
	}
}
