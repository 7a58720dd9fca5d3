/*
 * Live migration, both ends (vm_migrate.h; the stream is in
 * docs/migration.md).
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

#include "vmm/board/virt.h"
#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/snap_stream.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/block.h"
#include "vmm/virtio/block_dirty.h"
#include "vmm/vm_internal.h"

#define MIG_MAGIC "NIMBMIGR"
#define MIG_VERSION 1u
#define MIG_HEADER_BYTES 24u
#define PAGE (1u << BUS_PAGE_SHIFT)
#define REC (8u + PAGE)
#define PAGES_PER_FRAME 64u
#define MAX_ROUNDS 30
#define DONE_PAGES 256u             /* always small enough for the paused round (1 MiB) */
#define IO_TIMEOUT_S 30
#define ANSWER_TIMEOUT_S 120        /* the target builds the VM before it answers */
#define STATE_MAX (64u << 20)
#define DRAIN_MAX_MS 2000
#define DISK_HDR 12u                /* 'D' and 'E': u32 disk, u64 offset */
#define DISK_FRAME_MAX (DISK_HDR + BLOCK_DIRTY_CHUNK)

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

static int send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = recv(fd, p, len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void put32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

static uint32_t get32(const uint8_t *b)
{
	return (uint32_t)get64((const uint8_t[8]){ b[0], b[1], b[2], b[3] });
}

static int send_frame(int fd, uint8_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[5] = { type };
	put32(hdr + 1, len);
	uint32_t crc = snap_crc32(snap_crc32(0, hdr, 5), payload, len);
	uint8_t tail[4];
	put32(tail, crc);
	int rc;
	if ((rc = send_all(fd, hdr, 5)) || (rc = send_all(fd, payload, len)))
		return rc;
	return send_all(fd, tail, 4);
}

/* ---- source ------------------------------------------------------------ */

struct sender {
	int fd;
	struct bus *bus;
	uint8_t *buf;           /* PAGES_PER_FRAME records */
	unsigned n;
	uint8_t zero[PAGES_PER_FRAME * 8];
	unsigned nz;
	struct vm_migrate_info *info;
};

static int flush_pages(struct sender *s)
{
	int rc = 0;
	if (s->n && !(rc = send_frame(s->fd, 'P', s->buf, s->n * REC)))
		s->info->bytes_sent += (uint64_t)s->n * REC;
	s->n = 0;
	if (!rc && s->nz && !(rc = send_frame(s->fd, 'Z', s->zero, s->nz * 8)))
		s->info->bytes_sent += (uint64_t)s->nz * 8;
	s->nz = 0;
	return rc;
}

static bool is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	for (unsigned i = 0; i < PAGE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static int send_page(struct sender *s, uint64_t pfn)
{
	const uint8_t *src = s->bus->ram + pfn * PAGE;
	s->info->pages_sent++;
	if (is_zero(src)) {
		put64(s->zero + 8 * s->nz++, pfn);
	} else {
		uint8_t *r = s->buf + (size_t)s->n++ * REC;
		put64(r, pfn);
		memcpy(r + 8, src, PAGE);
	}
	if (s->n == PAGES_PER_FRAME || s->nz == PAGES_PER_FRAME)
		return flush_pages(s);
	return 0;
}

static int send_bitmap(struct sender *s, const uint64_t *bm, uint64_t npages)
{
	for (uint64_t w = 0; w < (npages + 63) / 64; w++)
		for (uint64_t b = bm[w]; b; b &= b - 1) {
			int rc = send_page(s, w * 64 + (uint64_t)__builtin_ctzll(b));
			if (rc)
				return rc;
		}
	return flush_pages(s);
}

/* ---- source: the disks (copy_storage) ---------------------------------- */

struct disk_copy {
	struct virtio_device *dev[VM_MAX_DISKS];
	struct block_dirty dirty[VM_MAX_DISKS];
	unsigned n;                 /* tracked (and to untrack) */
	uint8_t *buf;               /* DISK_FRAME_MAX */
	bool read_failed;           /* the last error was a disk read's (err says so) */
};

static bool all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w)
			return false;
	}
	return true;
}

/* Starts tracking every disk with every chunk dirty: the first pass sends it all. */
static int disk_copy_start(struct disk_copy *dc, const struct vm_parts *p, int fd)
{
	if (!(dc->buf = malloc(DISK_FRAME_MAX)))
		return -ENOMEM;
	uint8_t b[4 + 8 * VM_MAX_DISKS];
	put32(b, p->ndisks);
	for (unsigned i = 0; i < p->ndisks; i++) {
		uint64_t size = virtio_blk_size(p->disks[i]);
		if (block_dirty_init(&dc->dirty[i], size))
			return -ENOMEM;
		dc->dev[i] = p->disks[i];
		dc->n = i + 1;
		block_dirty_mark_all(&dc->dirty[i]);
		virtio_blk_track(dc->dev[i], &dc->dirty[i]);
		put64(b + 4 + 8 * i, size);
	}
	return send_frame(fd, 'B', b, 4 + 8 * p->ndisks);
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
		n += block_dirty_count(&dc->dirty[i]) * (BLOCK_DIRTY_CHUNK / PAGE);
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
			put32(dc->buf, i);
			put64(dc->buf + 4, off);
			/* A hole needs no read: it goes as zeroes. */
			int rc = 0;
			if (!virtio_blk_may_hold_data(dc->dev[i], off, len))
				memset(dc->buf + DISK_HDR, 0, len);
			else
				rc = virtio_blk_read_disk(dc->dev[i], off, dc->buf + DISK_HDR, len);
			if (rc && (dc->read_failed = true))
				return err_set(err, rc, "migrate: disk%u: cannot read at %llu: %s (the VM "
					       "runs on here)", i, (unsigned long long)off, strerror(-rc));
			if (all_zero(dc->buf + DISK_HDR, len)) {
				put64(dc->buf + DISK_HDR, len);
				rc = send_frame(fd, 'E', dc->buf, DISK_HDR + 8);
				info->bytes_sent += DISK_HDR + 8;
			} else {
				rc = send_frame(fd, 'D', dc->buf, (uint32_t)(DISK_HDR + len));
				info->bytes_sent += DISK_HDR + len;
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
 * identity among this process's open files.
 */
static void disk_locks(const struct vm_config *cfg, bool take)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		struct stat st;
		if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) < 0 ||
		    !S_ISREG(st.st_mode) || (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDWR)
			continue;
		for (unsigned i = 0; i < cfg->ndisks; i++) {
			struct stat ds;
			if (stat(cfg->disks[i].path, &ds) < 0 || ds.st_dev != st.st_dev ||
			    ds.st_ino != st.st_ino)
				continue;
			struct flock fl = { .l_type = take ? F_WRLCK : F_UNLCK,
					    .l_whence = SEEK_SET };
			(void)fcntl(fd, F_OFD_SETLK, &fl);
		}
	}
	closedir(d);
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

/* The target's answer: 0, or -EREMOTEIO with its reason in err. */
static int read_answer(int fd, struct err *err)
{
	set_timeouts(fd, ANSWER_TIMEOUT_S);
	uint8_t t;
	int rc = recv_all(fd, &t, 1);
	if (rc)
		return err_set(err, rc, "migrate: no answer from the target: %s", strerror(-rc));
	if (t == 'K')
		return 0;
	uint8_t l[2];
	char msg[400] = "";
	if (t == 'F' && !recv_all(fd, l, 2)) {
		size_t n = (size_t)l[0] | (size_t)l[1] << 8;
		if (n >= sizeof msg)
			n = sizeof msg - 1;
		if (recv_all(fd, msg, n))
			msg[0] = 0;
		msg[n] = 0;
	}
	return err_set(err, -EREMOTEIO, "migrate: the target refused the VM: %s",
		       msg[0] ? msg : "no reason given");
}

/* Not cryptographic: it tells a page that dirty logging missed from the one
 * the source holds.  One multiply per word. */
static uint64_t page_hash(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;
	uint64_t h = 0x9e3779b97f4a7c15ull;
	for (unsigned i = 0; i < PAGE / 8; i++)
		h = (h ^ w[i]) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

static uint64_t zero_page_hash(void)
{
	static const uint8_t zero[PAGE];
	return page_hash(zero);
}

/* Never-touched pages are zero and are not read: reading one faults the
 * zero page in, which cost seconds over 256 MiB on a loaded host. */
static int send_hashes(int fd, const struct bus *bus, uint64_t npages)
{
	uint8_t *h = malloc(npages * 8), *touched = malloc(npages);
	int rc = -ENOMEM;
	if (h && touched) {
		bus_ram_touched(bus, 0, npages, touched);
		uint64_t zh = zero_page_hash();
		for (uint64_t i = 0; i < npages; i++)
			put64(h + i * 8, touched[i] ? page_hash(bus->ram + i * PAGE) : zh);
		rc = send_frame(fd, 'H', h, (uint32_t)(npages * 8));
	}
	free(h);
	free(touched);
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
	if (p.cfg->sandboxed)
		return err_set(err, -EPERM, "migrate: not available in a sandboxed VM (--sandbox): "
			       "it needs sockets and calls the sandbox forbids");
	int64_t t0 = vclock_host_ns();
	struct vm_status st;
	vm_query(vm, &st);
	if (st.state != VM_STATE_RUNNING && st.state != VM_STATE_PAUSED)
		return err_set(err, -ESRCH, "migrate: the VM is not running (%s)",
			       vm_state_name(st.state));
	if (atomic_exchange(&p.chain->migrating, true))
		return err_set(err, -EBUSY, "migrate: a migration of this VM is already running");
	int fd = open_socket(uri, false, err);
	if (fd < 0) {
		atomic_store(&p.chain->migrating, false);
		return fd;
	}
	set_timeouts(fd, IO_TIMEOUT_S);
	set_buffers(fd);
	uint64_t npages = p.bus->ram_size / PAGE;
	struct sender s = { .fd = fd, .bus = p.bus, .info = info };
	uint64_t *bm = calloc((npages + 63) / 64, 8);
	uint8_t *touched = malloc(npages);
	s.buf = malloc(PAGES_PER_FRAME * REC);
	struct disk_copy dc = {0};
	bool paused_here = false, locks_dropped = false;
	int rc = 0;
	if (!bm || !touched || !s.buf) {
		rc = err_set(err, -ENOMEM, "migrate: out of memory");
		goto out;
	}
	uint8_t hdr[MIG_HEADER_BYTES] = MIG_MAGIC;
	put32(hdr + 8, MIG_VERSION);
	put32(hdr + 12, SNAP_ARCH_RISCV64);
	put64(hdr + 16, p.bus->ram_size);
	if ((rc = send_all(fd, hdr, sizeof hdr)))
		goto io;
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
	bus_ram_touched(p.bus, 0, npages, touched);
	for (uint64_t i = 0; i < npages && !rc; i++)
		if (touched[i] && !is_zero(p.bus->ram + i * PAGE))
			rc = send_page(&s, i);
	if (rc || (rc = flush_pages(&s)))
		goto io;

	/* The rate so far says how many pages the paused round may take. */
	if (!downtime_ms)
		downtime_ms = VM_MIGRATE_DOWNTIME_MS;
	for (unsigned r = 0; r < MAX_ROUNDS; r++) {
		wait_drained(fd);
		int64_t el = vclock_host_ns() - t0;
		double pages_per_ms = el > 0 ? (double)info->bytes_sent / REC / ((double)el / 1e6) : 0;
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
		if (left <= budget && (info->rounds > 0 || left <= DONE_PAGES))
			break;
		bus_dirty_collect(p.bus, bm, false);
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
	struct snap_out o;
	if ((rc = vm_state_build(vm, vm_snapshot_new_id(), NULL, 0, false, &o, err)))
		goto out;
	/* With the disks copied the target writes its own images: the source's
	 * stay locked (a target naming the same files fails, and this VM runs on). */
	if (!opts->copy_storage) {
		disk_locks(p.cfg, false);
		locks_dropped = true;
	}
	rc = o.len > STATE_MAX ? -E2BIG : send_frame(fd, 'S', o.buf, (uint32_t)o.len);
	info->bytes_sent += o.len;
	snap_out_free(&o);
	if (rc)
		goto io;
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
		disk_locks(p.cfg, true);
	if (paused_here)
		vm_resume(vm, false, NULL);
done:
	atomic_store(&p.chain->migrating, false);
	free(bm);
	free(touched);
	free(s.buf);
	close(fd);
	return rc;
}

/* ---- target ------------------------------------------------------------ */

static int recv_frame_hdr(int fd, uint8_t *type, uint32_t *len)
{
	uint8_t h[5];
	int rc = recv_all(fd, h, 5);
	if (rc)
		return rc;
	*type = h[0];
	*len = get32(h + 1);
	return 0;
}

/* ---- target: the disks (copy_storage) ---------------------------------- */

struct disk_sink {
	const struct vm_config *cfg;      /* NULL: this target takes no disks */
	struct block_backend *be[VM_MAX_DISKS];
	unsigned n;
};

/* 'B': opens this VM's own images to write the source's disks into. */
static int disks_open(struct disk_sink *ds, const uint8_t *p, uint32_t len, const char *uri,
		      struct err *err)
{
	uint32_t n = len >= 4 ? get32(p) : 0;
	if (ds->n || len < 4 || n > VM_MAX_DISKS || len != 4 + 8 * n)
		return err_set(err, -EINVAL, "%s: corrupt migration stream (bad disk list)", uri);
	if (!ds->cfg || n != ds->cfg->ndisks)
		return err_set(err, -EINVAL, "%s: the VM comes with %u disks, this one has %u (--disk)",
			       uri, n, ds->cfg ? ds->cfg->ndisks : 0);
	for (unsigned i = 0; i < n; i++) {
		const struct vm_disk *d = &ds->cfg->disks[i];
		if (d->readonly || d->ephemeral)
			return err_set(err, -EINVAL, "--disk %s: the source sends its contents "
				       "(--copy-storage): it must be writable here, not ro or "
				       "--ephemeral", d->path);
		struct block_opts o = { .confine_backing = d->confine_backing };
		int rc;
		if (d->format && (rc = block_format_parse(d->format, &o.format)))
			return err_set(err, rc, "--disk %s: format=%s: not raw or qcow2", d->path,
				       d->format);
		if ((rc = block_backend_open(d->path, &o, &ds->be[i], err)))
			return rc;
		ds->n = i + 1;
		uint64_t want = get64(p + 4 + 8 * i);
		if (ds->be[i]->size != want)
			return err_set(err, -EINVAL, "--disk %s: %llu bytes, the source's disk%u has "
				       "%llu (--copy-storage needs the same size)", d->path,
				       (unsigned long long)ds->be[i]->size, i,
				       (unsigned long long)want);
	}
	return 0;
}

/* 'D' and 'E': a chunk of disk i's data, or a range that reads as zeroes. */
static int disks_write(struct disk_sink *ds, uint8_t type, const uint8_t *p, uint32_t len,
		       const char *uri, struct err *err)
{
	uint32_t i = len >= DISK_HDR ? get32(p) : UINT32_MAX;
	uint64_t off = len >= DISK_HDR ? get64(p + 4) : 0;
	uint64_t n = type == 'D' ? len - (uint64_t)DISK_HDR : len == DISK_HDR + 8 ? get64(p + DISK_HDR) : 1;
	if (i >= ds->n || (type == 'E' && len != DISK_HDR + 8) || off % 512 || n % 512 ||
	    off > ds->be[i]->size || n > ds->be[i]->size - off)
		return err_set(err, -EINVAL, "%s: corrupt migration stream (bad disk frame)", uri);
	struct block_backend *be = ds->be[i];
	int rc = 0;
	if (type == 'D') {
		struct iovec v = { (void *)(p + DISK_HDR), n };
		rc = be->ops->writev(be, off, &v, 1);
	} else if (!be->ops->write_zeroes || be->ops->write_zeroes(be, off, n, true)) {
		static const uint8_t zero[BLOCK_DIRTY_CHUNK];   /* read-only */
		for (uint64_t done = 0; !rc && done < n;) {
			struct iovec v = { (void *)zero, n - done < sizeof zero ? n - done : sizeof zero };
			rc = be->ops->writev(be, off + done, &v, 1);
			done += v.iov_len;
		}
	}
	if (rc)
		return err_set(err, rc, "--disk %s: cannot write: %s", ds->cfg->disks[i].path,
			       strerror(-rc));
	return 0;
}

/* Flushes and closes the images (vm_incoming_finish opens them again, as
 * the VM's); rc 0: only if all is on disk. */
static int disks_close(struct disk_sink *ds, int rc, struct err *err)
{
	for (unsigned i = 0; i < ds->n; i++) {
		int f = rc ? 0 : ds->be[i]->ops->flush(ds->be[i]);
		if (f)
			rc = err_set(err, f, "--disk %s: %s", ds->cfg->disks[i].path, strerror(-f));
		block_backend_close(ds->be[i]);
	}
	ds->n = 0;
	return rc;
}

static int receive_stream(int fd, const char *uri, uint64_t ram_size, struct disk_sink *ds,
			  struct vm_incoming *out, struct err *err);

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
	uint8_t hdr[MIG_HEADER_BYTES];
	if ((rc = recv_all(fd, hdr, sizeof hdr)))
		return err_set(err, rc, "%s: no migration stream: %s", uri, strerror(-rc));
	if (memcmp(hdr, MIG_MAGIC, 8))
		return err_set(err, -EINVAL, "%s: not a nimbus migration stream", uri);
	if (get32(hdr + 8) != MIG_VERSION)
		return err_set(err, -EPROTONOSUPPORT, "%s: stream version %u, this nimbus reads %u",
			       uri, get32(hdr + 8), MIG_VERSION);
	if (get32(hdr + 12) != SNAP_ARCH_RISCV64)
		return err_set(err, -EINVAL, "%s: not a riscv64 VM", uri);
	if (get64(hdr + 16) != ram_size)
		return err_set(err, -EINVAL, "%s: the VM has %llu MiB of RAM, this one %llu (--mem)",
			       uri, (unsigned long long)(get64(hdr + 16) >> 20),
			       (unsigned long long)(ram_size >> 20));
	out->ram_size = ram_size;
	out->ram_is_vms = dest != NULL;
	out->ram = dest ? dest : mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (out->ram == MAP_FAILED) {
		out->ram = NULL;
		return err_set(err, -ENOMEM, "cannot map %llu MiB for the incoming RAM",
			       (unsigned long long)(ram_size >> 20));
	}
	struct disk_sink ds = { .cfg = cfg };
	rc = receive_stream(fd, uri, ram_size, &ds, out, err);
	rc = disks_close(&ds, rc, err);
	out->storage_copied = !rc && out->storage_copied;
	return rc;
}

static int receive_stream(int fd, const char *uri, uint64_t ram_size, struct disk_sink *ds,
			  struct vm_incoming *out, struct err *err)
{
	int rc = 0;
	uint64_t npages = ram_size / PAGE;
	/* Large enough for a frame of pages, of disk data, and for the hashes. */
	size_t bufsize = npages * 8 > PAGES_PER_FRAME * REC ? npages * 8 : PAGES_PER_FRAME * REC;
	if (bufsize < DISK_FRAME_MAX)
		bufsize = DISK_FRAME_MAX;
	uint8_t *buf = malloc(bufsize);
	/* Pages written here: the others are still zero (for the 'H' check). */
	uint8_t *wrote = calloc(npages, 1);
	if (!buf || !wrote) {
		free(buf);
		free(wrote);
		return err_set(err, -ENOMEM, "out of memory");
	}
	for (;;) {
		uint8_t type;
		uint32_t len;
		if ((rc = recv_frame_hdr(fd, &type, &len)))
			break;
		uint8_t *payload = buf;
		if (type == 'S') {
			if (len > STATE_MAX) {
				rc = -EINVAL;
				break;
			}
			payload = out->state = malloc(len ? len : 1);
			if (!payload) {
				rc = -ENOMEM;
				break;
			}
		} else if ((type == 'P' && (len % REC || len > PAGES_PER_FRAME * REC)) ||
			   (type == 'Z' && (len % 8 || len > PAGES_PER_FRAME * 8)) ||
			   (type == 'H' && len != npages * 8) ||
			   ((type == 'B' || type == 'D' || type == 'E') && len > DISK_FRAME_MAX) ||
			   !strchr("PZHBDE", type) || !type) {
			rc = -EINVAL;
			break;
		}
		uint8_t crcb[4];
		if ((rc = recv_all(fd, payload, len)) || (rc = recv_all(fd, crcb, 4)))
			break;
		uint8_t h[5] = { type };
		put32(h + 1, len);
		if (snap_crc32(snap_crc32(0, h, 5), payload, len) != get32(crcb)) {
			rc = -EBADMSG;
			break;
		}
		if (type == 'S') {
			out->state_len = len;
			free(buf);
			free(wrote);
			return 0;
		}
		if (type == 'B' || type == 'D' || type == 'E') {
			rc = type == 'B' ? disks_open(ds, payload, len, uri, err)
					 : disks_write(ds, type, payload, len, uri, err);
			if (rc) {
				free(buf);
				free(wrote);
				return rc;
			}
			out->storage_copied = true;
			continue;
		}
		if (type == 'H') {
			uint64_t bad = 0, first = 0, zh = zero_page_hash();
			for (uint64_t i = 0; i < npages; i++) {
				uint64_t have = wrote[i] ? page_hash((uint8_t *)out->ram + i * PAGE) : zh;
				if (have != get64(payload + i * 8) && !bad++)
					first = i;
			}
			if (bad) {
				free(buf);
				free(wrote);
				return err_set(err, -EIO, "%s: verify: %llu of %llu pages differ from "
					       "the source's (first: guest-physical 0x%llx)", uri,
					       (unsigned long long)bad, (unsigned long long)npages,
					       (unsigned long long)(VIRT_DRAM_BASE + first * PAGE));
			}
			continue;
		}
		for (uint32_t off = 0; off < len; off += type == 'P' ? REC : 8) {
			uint64_t pfn = get64(payload + off);
			if (pfn >= npages) {
				rc = -EINVAL;
				break;
			}
			uint8_t *dst = (uint8_t *)out->ram + pfn * PAGE;
			wrote[pfn] = 1;
			if (type == 'P')
				memcpy(dst, payload + off + 8, PAGE);
			else
				memset(dst, 0, PAGE);
		}
		if (rc)
			break;
	}
	free(buf);
	free(wrote);
	if (rc == -EINVAL || rc == -EBADMSG)
		return err_set(err, rc, "%s: corrupt migration stream (%s)", uri,
			       rc == -EBADMSG ? "a frame fails its CRC check" : "bad frame");
	return err_set(err, rc, "%s: the stream broke off: %s", uri, strerror(-rc));
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
		if (rc == 0) {
			(void)send_all(conn, "K", 1);
		} else {
			size_t n = strlen(msg);
			if (n > 1000)
				n = 1000;
			uint8_t h[3] = { 'F', (uint8_t)n, (uint8_t)(n >> 8) };
			if (!send_all(conn, h, 3))
				(void)send_all(conn, msg, n);
		}
		close(conn);
	}
	if (in->ram && !in->ram_is_vms)
		munmap(in->ram, in->ram_size);
	in->ram = NULL;
	free(in->state);
	in->state = NULL;
}
