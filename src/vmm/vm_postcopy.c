/*
 * Post-copy live migration, both ends (vm_postcopy.h).
 *
 * Target: one thread polls the userfaultfd and the socket.  A fault on a
 * missing page becomes a request ('R') unless that page was asked for
 * already; a 'P' or 'Z' frame fills pages with UFFDIO_COPY or
 * UFFDIO_ZEROPAGE, which wakes whoever waits on them (EEXIST: the page came
 * twice, once pushed and once asked for).  At 'Y' every page that may hold
 * data is in place, and RAM is unregistered: a page never sent is zero,
 * which is what an ordinary fault gives it.
 *
 * Source: requests first, then a batch of the background push (64 pages,
 * 256 KiB, so a request waits behind at most that), until every page that
 * may hold data went and the target answered.
 */
#include "vmm/vm_postcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm/bus.h"
#include "vmm/clock.h"
#include "vmm/snap_stream.h"
#include "vmm/vm_internal.h"
#include "vmm/vm_migrate_wire.h"

#define MAX_REQ 64u                     /* page numbers in one 'R' frame */
/* The background push waits while this much is unread by the target: a
 * requested page queues behind whatever was pushed before it, and with the
 * 4 MiB socket buffers full that was milliseconds per fault. */
#define PUSH_QUEUE_MAX (256u << 10)
#define IDLE_TIMEOUT_MS 30000           /* a peer silent this long is gone */

/* One frame from fd into buf (at most max bytes of payload): 0, -EBADMSG
 * (CRC), -EINVAL (too long), or -errno of the socket. */
static int read_frame(int fd, uint8_t type, uint8_t *buf, uint32_t max, uint32_t *len)
{
	uint8_t l[4], crc[4];
	int rc = mig_recv_all(fd, l, 4);
	if (rc)
		return rc;
	*len = mig_get32(l);
	if (*len > max)
		return -EINVAL;
	if ((rc = mig_recv_all(fd, buf, *len)) || (rc = mig_recv_all(fd, crc, 4)))
		return rc;
	uint8_t h[5] = { type };
	memcpy(h + 1, l, 4);
	return snap_crc32(snap_crc32(0, h, 5), buf, *len) == mig_get32(crc) ? 0 : -EBADMSG;
}

/* ---- source ------------------------------------------------------------ */

struct pusher {
	struct mig_sender out;
	uint8_t *sent;                  /* per page: went already */
	uint8_t rec[MIG_PAGES_PER_FRAME * MIG_REC];
};

/* Queues page pfn unless it went already (as zero if it holds no data). */
static int push_page(struct pusher *s, uint64_t pfn, bool may_hold_data)
{
	if (s->sent[pfn])
		return 0;
	s->sent[pfn] = 1;
	return mig_sender_page(&s->out, pfn, !may_hold_data ||
			       mig_page_is_zero(s->out.ram + pfn * MIG_PAGE));
}

/*
 * What the target said since: 'K' sets *target_runs; 'R' asks for pages
 * (served unless every page went); 'F' is a refusal (-EREMOTEIO); its end
 * of the stream (-ECONNRESET) comes after 'Y'.  One message per call.
 */
static int from_target(struct pusher *s, const uint8_t *touched, uint64_t npages, bool done,
		       uint8_t *req, bool *target_runs, struct err *err)
{
	uint8_t t;
	int rc = mig_recv_all(s->out.fd, &t, 1);
	if (rc)
		return rc;
	if (t == 'K') {
		*target_runs = true;
		return 0;
	}
	if (t == 'F')
		return mig_read_refusal(s->out.fd, err);
	uint32_t len;
	if (t != 'R' || (rc = read_frame(s->out.fd, 'R', req, MAX_REQ * 8, &len)) || len % 8)
		return err_set(err, rc && rc != -EBADMSG && rc != -EINVAL ? rc : -EINVAL,
			       "migrate: post-copy: a corrupt message from the target");
	for (uint32_t i = 0; i < len && !done && !rc; i += 8) {
		uint64_t pfn = mig_get64(req + i);
		if (pfn >= npages)
			return err_set(err, -EINVAL, "migrate: post-copy: the target asks for page "
				       "%llu of %llu", (unsigned long long)pfn,
				       (unsigned long long)npages);
		rc = push_page(s, pfn, touched[pfn]);
	}
	return rc ? rc : mig_sender_flush(&s->out);
}

int mig_postcopy_serve(int fd, const struct bus *bus, int64_t paused_at,
		       struct vm_migrate_info *info, bool *target_runs, struct err *err)
{
	*target_runs = false;
	uint64_t npages = bus->ram_size / MIG_PAGE;
	struct pusher *s = calloc(1, sizeof *s);
	uint8_t *touched = malloc(npages);
	uint8_t *req = malloc(MAX_REQ * 8);
	if (!s || !touched || !req || !(s->sent = calloc(npages, 1))) {
		if (s)
			free(s->sent);
		free(s);
		free(touched);
		free(req);
		return err_set(err, -ENOMEM, "migrate: out of memory");
	}
	s->out = (struct mig_sender){ .fd = fd, .ram = bus->ram, .buf = s->rec, .info = info };
	bus_ram_touched(bus, 0, npages, touched);
	uint64_t cursor = 0;
	bool done = false;   /* 'Y' went: only the target's end of the stream is left */
	int rc = 0;
	err->msg[0] = 0;
	for (;;) {
		while (cursor < npages && (!touched[cursor] || s->sent[cursor]))
			cursor++;
		/* 'Y' only once the target runs: then it may close its end. */
		if (cursor == npages && *target_runs && !done) {
			if ((rc = mig_sender_flush(&s->out)) || (rc = mig_send_frame(fd, 'Y', "", 0)))
				break;
			done = true;
		}
		int queued = 0;
		bool push = cursor < npages &&
			    (ioctl(fd, SIOCOUTQ, &queued) < 0 || queued < (int)PUSH_QUEUE_MAX);
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		struct timespec wait = { .tv_nsec = push ? 0 : 100000 };   /* 0.1 ms */
		if (!push && cursor == npages)
			wait = (struct timespec){ .tv_sec = IDLE_TIMEOUT_MS / 1000 };
		int n = ppoll(&pf, 1, &wait, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			break;
		}
		if (n == 0 && cursor == npages) {
			rc = -ETIMEDOUT;
			break;
		}
		if (n == 0 && !push)
			continue;   /* the target is still reading the last batches */
		if (n == 0) {   /* a batch of the background push */
			for (unsigned k = 0; k < MIG_PAGES_PER_FRAME && cursor < npages && !rc; cursor++)
				if (touched[cursor] && !s->sent[cursor]) {
					rc = push_page(s, cursor, true);
					k++;
				}
			if (rc || (rc = mig_sender_flush(&s->out)))
				break;
			continue;
		}
		rc = from_target(s, touched, npages, done, req, target_runs, err);
		if (*target_runs && !info->downtime_ns)
			info->downtime_ns = vclock_host_ns() - paused_at;
		if (rc == -ECONNRESET && done) {
			rc = 0;   /* every page went and the target has them */
			break;
		}
		if (rc)
			break;
	}
	/* A send that failed: the target may have refused first ('F' waiting). */
	if (rc == -EPIPE || rc == -ECONNRESET) {
		int r2;
		while ((r2 = from_target(s, touched, npages, true, req, target_runs, err)) == 0)
			;
		if (r2 == -EREMOTEIO)
			rc = r2;
	}
	if (rc && rc != -EREMOTEIO && !err->msg[0])
		err_set(err, rc, "migrate: post-copy: %s", strerror(-rc));
	free(s->sent);
	free(s);
	free(touched);
	free(req);
	return rc;
}

/* ---- target ------------------------------------------------------------ */

struct mig_postcopy {
	atomic_bool *busy;              /* the VM's "migrating": no snapshot nor migration
					   reads RAM while pages are missing */
	int fd, uffd;
	uint8_t *ram;
	uint64_t npages;
	const char *what;
	uint8_t *asked;                 /* per page: requested already */
	pthread_mutex_t send_lock;      /* 'R' from the thread, the answer from the caller */
	pthread_t thread;
	/* Under send_lock: the answer 'K' went (the VM runs on these pages), or
	 * the thread ended without every page (the VM must not run). */
	bool answered_ok, failed;
	int stop_pipe[2];               /* the VM never ran: end the thread */
};

/* The VM runs, and its pages are not all here: it cannot go on. */
static _Noreturn void lost(struct mig_postcopy *pc, const char *why)
{
	dprintf(STDERR_FILENO, "nimbus: %s: post-copy: %s; the VM cannot go on without the "
		"pages still at the source\n", pc->what, why);
	_exit(1);
}

static int ask(struct mig_postcopy *pc, const uint64_t *pfns, unsigned n)
{
	uint8_t buf[MAX_REQ * 8];
	for (unsigned i = 0; i < n; i++)
		mig_put64(buf + 8 * i, pfns[i]);
	pthread_mutex_lock(&pc->send_lock);
	int rc = mig_send_frame(pc->fd, 'R', buf, n * 8);
	pthread_mutex_unlock(&pc->send_lock);
	return rc;
}

/* Faults waiting: one request for the pages not asked for yet. */
static int take_faults(struct mig_postcopy *pc)
{
	struct uffd_msg m[16];
	ssize_t r = read(pc->uffd, m, sizeof m);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	uint64_t pfns[MAX_REQ];
	unsigned n = 0;
	for (size_t i = 0; i < (size_t)r / sizeof m[0]; i++) {
		if (m[i].event != UFFD_EVENT_PAGEFAULT)
			continue;
		uint64_t a = m[i].arg.pagefault.address;
		if (a < (uintptr_t)pc->ram || a - (uintptr_t)pc->ram >= pc->npages * MIG_PAGE)
			continue;   /* not ours: registered RAM only */
		uint64_t pfn = (a - (uintptr_t)pc->ram) / MIG_PAGE;
		if (!pc->asked[pfn]) {
			pc->asked[pfn] = 1;
			pfns[n++] = pfn;
		}
	}
	return n ? ask(pc, pfns, n) : 0;
}

/* A 'P' or 'Z' frame's pages into RAM. */
static int fill(struct mig_postcopy *pc, uint8_t type, const uint8_t *p, uint32_t len)
{
	uint32_t step = type == 'P' ? MIG_REC : 8;
	if (len % step)
		return -EINVAL;
	for (uint32_t off = 0; off < len; off += step) {
		uint64_t pfn = mig_get64(p + off);
		if (pfn >= pc->npages)
			return -EINVAL;
		uint64_t dst = (uintptr_t)pc->ram + pfn * MIG_PAGE;
		int rc;
		if (type == 'P') {
			struct uffdio_copy c = { .dst = dst, .src = (uintptr_t)(p + off + 8),
						 .len = MIG_PAGE };
			rc = ioctl(pc->uffd, UFFDIO_COPY, &c);
		} else {
			struct uffdio_zeropage z = { .range = { .start = dst, .len = MIG_PAGE } };
			rc = ioctl(pc->uffd, UFFDIO_ZEROPAGE, &z);
		}
		if (rc < 0 && errno != EEXIST)
			return -errno;
	}
	return 0;
}

static void *target_thread(void *arg)
{
	struct mig_postcopy *pc = arg;
	const uint32_t max = MIG_PAGES_PER_FRAME * MIG_REC;
	uint8_t *buf = malloc(max);
	const char *why = buf ? NULL : "out of memory";
	while (!why) {
		struct pollfd pf[3] = { { .fd = pc->uffd, .events = POLLIN },
					{ .fd = pc->fd, .events = POLLIN },
					{ .fd = pc->stop_pipe[0], .events = POLLIN } };
		if (poll(pf, 3, -1) < 0) {
			if (errno != EINTR)
				why = "poll failed";
			continue;
		}
		if (pf[2].revents)
			break;   /* the VM never ran: nothing to fetch */
		if ((pf[0].revents & POLLIN) && take_faults(pc))
			why = "cannot ask the source for a page (the connection broke)";
		if (why || !(pf[1].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		uint8_t t;
		uint32_t len = 0;
		int rc = mig_recv_all(pc->fd, &t, 1);
		if (!rc && !strchr("PZY", t))
			rc = -EINVAL;
		if (!rc)
			rc = read_frame(pc->fd, t, buf, max, &len);
		if (!rc && t == 'Y')
			break;
		if (!rc)
			rc = fill(pc, t, buf, len);
		if (rc)
			why = rc == -EINVAL || rc == -EBADMSG ? "a corrupt page frame"
			      : "the stream from the source broke off";
	}
	free(buf);
	if (why) {
		pthread_mutex_lock(&pc->send_lock);
		if (pc->answered_ok)
			lost(pc, why);
		pc->failed = true;   /* the answer will be a refusal */
		pthread_mutex_unlock(&pc->send_lock);
	}
	/* Every page that may hold data is here: the rest are zero, as an
	 * ordinary fault makes them (unregistering wakes any waiter). */
	struct uffdio_range r = { .start = (uintptr_t)pc->ram, .len = pc->npages * MIG_PAGE };
	ioctl(pc->uffd, UFFDIO_UNREGISTER, &r);
	atomic_store(pc->busy, false);
	if (!why)
		shutdown(pc->fd, SHUT_WR);   /* the source's sign that the pages arrived */
	return NULL;
}

int mig_postcopy_target_start(struct vm *vm, int fd, const char *what, struct mig_postcopy **out,
			      struct err *err)
{
	*out = NULL;
	struct vm_parts p;
	vm_parts(vm, &p);
	if (p.cfg->sandboxed)
		return err_set(err, -EPERM, "%s: post-copy: not available with --sandbox (its "
			       "seccomp lists have no userfaultfd)", what);
	struct mig_postcopy *pc = calloc(1, sizeof *pc);
	if (!pc)
		return err_set(err, -ENOMEM, "out of memory");
	if (atomic_exchange(&p.chain->migrating, true)) {
		free(pc);
		return err_set(err, -EBUSY, "%s: post-copy: the VM is busy migrating", what);
	}
	pc->busy = &p.chain->migrating;
	pc->fd = fd;
	pc->what = what;
	pc->ram = p.bus->ram;
	pc->npages = p.bus->ram_size / MIG_PAGE;
	pc->stop_pipe[0] = pc->stop_pipe[1] = -1;
	pthread_mutex_init(&pc->send_lock, NULL);
	int rc = 0;
	pc->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .range = { .start = (uintptr_t)pc->ram,
						  .len = pc->npages * MIG_PAGE },
				       .mode = UFFDIO_REGISTER_MODE_MISSING };
	if (pc->uffd < 0 || ioctl(pc->uffd, UFFDIO_API, &api) < 0) {
		rc = err_set(err, -errno, "%s: post-copy: userfaultfd: %s", what, strerror(errno));
		goto fail;
	}
	/* Nothing of RAM may be mapped, not even the zero page of a read:
	 * a present page raises no fault, and would read as zero. */
	if (madvise(pc->ram, reg.range.len, MADV_DONTNEED) < 0 ||
	    ioctl(pc->uffd, UFFDIO_REGISTER, &reg) < 0) {
		rc = err_set(err, -errno, "%s: post-copy: cannot register guest RAM with "
			     "userfaultfd: %s", what, strerror(errno));
		goto fail;
	}
	if (!(pc->asked = calloc(pc->npages, 1)) || pipe2(pc->stop_pipe, O_CLOEXEC) < 0) {
		rc = err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if ((rc = -pthread_create(&pc->thread, NULL, target_thread, pc))) {
		err_set(err, rc, "%s: post-copy: cannot start its thread", what);
		goto fail;
	}
	*out = pc;
	return 0;
fail:
	if (pc->uffd >= 0)
		close(pc->uffd);   /* unregisters */
	for (int i = 0; i < 2; i++)
		if (pc->stop_pipe[i] >= 0)
			close(pc->stop_pipe[i]);
	free(pc->asked);
	pthread_mutex_destroy(&pc->send_lock);
	atomic_store(pc->busy, false);
	free(pc);
	return rc;
}

int mig_postcopy_answer(struct mig_postcopy *pc, int rc, const char *msg)
{
	pthread_mutex_lock(&pc->send_lock);
	if (rc == 0 && pc->failed) {
		rc = -ECONNRESET;   /* the stream broke while the VM was built */
	} else if (rc == 0) {
		pc->answered_ok = mig_send_answer(pc->fd, 0, "") == 0;
		if (!pc->answered_ok)
			rc = -ECONNRESET;
	} else {
		(void)mig_send_answer(pc->fd, rc, msg);
	}
	pthread_mutex_unlock(&pc->send_lock);
	return rc;
}

void mig_postcopy_target_end(struct mig_postcopy *pc)
{
	if (!pc)
		return;
	pthread_mutex_lock(&pc->send_lock);
	bool ran = pc->answered_ok;
	pthread_mutex_unlock(&pc->send_lock);
	if (!ran)
		(void)!write(pc->stop_pipe[1], "x", 1);
	pthread_join(pc->thread, NULL);
	close(pc->uffd);
	close(pc->fd);
	close(pc->stop_pipe[0]);
	close(pc->stop_pipe[1]);
	free(pc->asked);
	pthread_mutex_destroy(&pc->send_lock);
	free(pc);
}
