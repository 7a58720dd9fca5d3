/*
 * A fork's memory image (docs/snapshot.md, "Live fork"): guest RAM as it
 * was at the fork, in a memfd that nothing writes again, which the
 * children map copy-on-write (its descriptor is passed to them) and from
 * which the fork directory's `memory` file is written afterwards, in the
 * background, so the fork directory stays a snapshot like any other.
 *
 * Taking the image, with the VM paused: a VM whose RAM is a shared file
 * (bus_ram_share: a VM that booted ready to fork; a memfd, or a file of the
 * VM's private tmpfs with huge pages, vm_fork_tmpfs.c) gives that very file,
 * and maps it MAP_PRIVATE from then on (bus_ram_freeze), so its own later
 * writes become private copies and the image stays as it was: no page is
 * copied.  A VM whose RAM is a private mapping of a file (a fork's image
 * before its rebase, below; a restored snapshot's memory), nothing writing
 * that file, gives the file and, as a memory.diff in a new memfd, the few
 * pages it wrote since (from its page map: the private copies), which each
 * child copies over its mapping of the file.  Any other (anonymous RAM,
 * or many pages written since the file) copies the pages that hold data
 * into a new memfd, as a snapshot would write them.
 *
 * After the children are started, a thread of the parent's gives the
 * parent RAM of its own again (rebase), so that its next fork freezes
 * instead of copying: it copies the file RAM is mapped from into a new
 * memfd while the guest runs (in the kernel, no page of the parent's
 * touched), then, the VM paused, adds the pages the parent wrote since
 * (its private copies, from the page map) and maps the new memfd shared in
 * place (bus_ram_rebase).  The parent stands still for the private pages
 * only.  Then it writes the fork directory's memory file from the image.
 * Both copies run at nice 19 and hold back while a fork is under way and
 * for CALM_MS after (vm_fork_images_hold/release): a fork never waits for
 * them, and they take neither CPU nor the page allocator from its children
 * starting up.  One rebase runs at a time.
 *
 * The threads are per VM (struct vm_fork_images, made with the VM): each
 * owns its image's descriptors; vm_fork_images_free waits for every one, so
 * a VM that ends leaves its fork directories complete.
 */
#include "vmm/vm_fork_image.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/io.h"
#include "lib/zero.h"
#include "lib/tmark.h"
#include "vmm/bus.h"
#include "vmm/log.h"
#include "vmm/vm_fork_copy.h"
#include "vmm/vm_fork_tmpfs.h"
#include "vmm/vm_internal.h"

#define CHUNK (256u << 10)   /* read from the image this much at a time */
/* A VM whose RAM is mapped from a file (an image, after a fork and before
 * its rebase; a snapshot, restored) hands a fork that file and the pages
 * written since, if at most this many, instead of a copy of RAM: each child
 * copies them (1 MiB: ~0.5 ms; at 4 MiB ten children starting at once on
 * two cores took ~10 ms longer). */
#define FORK_DIFF_MAX_PAGES 256u
/* The copies wait this long after a fork's children are up: they enter
 * their guests meanwhile (a fork that follows need not wait for them). */
#define CALM_MS 50

struct writer {
	pthread_t thread;
	struct vm *vm;
	struct vm_fork_images *set;
	int image;                /* the image, owned */
	int diff;                 /* a memory.diff over it, owned; -1 */
	int rebase_from;          /* the file RAM was mapped from after the fork, owned; -1 */
	uint64_t size;
	char dir[4096];
	const struct log_sink *log;
	atomic_bool done;
	struct writer *next;
};

struct vm_fork_images {
	pthread_mutex_t lock;
	unsigned rebasing;        /* writers not past their rebase yet */
	/* Forks under way (vm_fork_images_hold): the threads' copies wait
	 * between chunks until there is none (`calm`), so that they take
	 * neither CPU nor the kernel's page allocator from a fork's pause and
	 * its children starting up. */
	unsigned forking;
	struct timespec calm_from;   /* CLOCK_MONOTONIC: the last fork's children up, + CALM_MS */
	pthread_cond_t calm;
	struct writer *list;
	/* The private tmpfs RAM is kept on (vm_fork_images_share_ram), its
	 * rebases' files too (tmpfs_of): -1 not asked yet, -2 none (memfds). */
	int tmpfs;
};

/* The pages RAM mapped from a file has of its own (written since the
 * mapping) into a new memfd as a memory.diff, if they are few: *diff -1 if
 * they are not. */
static int take_diff(struct bus *bus, int *diff, uint64_t *copied)
{
	const uint64_t n = bus->ram_size >> BUS_PAGE_SHIFT;
	uint64_t *pages = calloc(n / 64 + 1, sizeof *pages), count = 0;
	*diff = -1;
	if (!pages)
		return -ENOMEM;
	int rc = bus_ram_changed_from_file(bus, pages);
	for (uint64_t i = 0; !rc && i < n / 64 + 1; i++)
		count += (uint64_t)__builtin_popcountll(pages[i]);
	if (!rc && count <= FORK_DIFF_MAX_PAGES) {
		int fd = memfd_create("nimbus-fork-diff", MFD_CLOEXEC);
		rc = fd < 0 ? -errno : vm_ram_write_diff(fd, bus, pages, copied);
		if (rc && fd >= 0)
			close(fd);
		else if (!rc)
			*diff = fd;
	}
	free(pages);
	return rc;
}

/* Returns once no fork is under way, nor was for CALM_MS. */
static void wait_calm(struct vm_fork_images *f)
{
	pthread_mutex_lock(&f->lock);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		bool early = now.tv_sec < f->calm_from.tv_sec ||
			     (now.tv_sec == f->calm_from.tv_sec && now.tv_nsec < f->calm_from.tv_nsec);
		if (f->forking)
			pthread_cond_wait(&f->calm, &f->lock);
		else if (early)
			pthread_cond_timedwait(&f->calm, &f->lock, &f->calm_from);
		else
			break;
	}
	pthread_mutex_unlock(&f->lock);
}

void vm_fork_images_hold(struct vm_fork_images *f)
{
	pthread_mutex_lock(&f->lock);
	f->forking++;
	pthread_mutex_unlock(&f->lock);
}

void vm_fork_images_release(struct vm_fork_images *f)
{
	pthread_mutex_lock(&f->lock);
	clock_gettime(CLOCK_MONOTONIC, &f->calm_from);
	f->calm_from.tv_nsec += CALM_MS * 1000000L;
	f->calm_from.tv_sec += f->calm_from.tv_nsec / 1000000000L;
	f->calm_from.tv_nsec %= 1000000000L;
	if (!--f->forking)
		pthread_cond_broadcast(&f->calm);
	pthread_mutex_unlock(&f->lock);
}

int vm_fork_image_take(struct vm_parts *p, struct vm_fork_image *out, uint64_t *copied,
		       struct err *err)
{
	*copied = 0;
	out->image = out->diff = out->ram_file = -1;
	struct bus *bus = p->bus;
	int fd, rc;
	if (bus->ram_shared) {
		if ((fd = fcntl(bus->ram_fd, F_DUPFD_CLOEXEC, 3)) < 0)
			return err_set(err, -errno, "fork: guest RAM's memfd: %s", strerror(errno));
		if ((rc = bus_ram_freeze(bus))) {
			close(fd);
			return err_set(err, rc, "fork: cannot remap guest RAM copy-on-write: %s",
				       strerror(-rc));
		}
	} else if (bus->ram_from_file && (rc = take_diff(bus, &out->diff, copied)) == 0 &&
		   out->diff >= 0) {
		/* The file RAM is mapped from (an image, a snapshot: nothing
		 * writes it) and the pages written since, on top. */
		if ((fd = fcntl(bus->ram_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
			close(out->diff);
			out->diff = -1;
			return err_set(err, -errno, "fork: guest RAM's file: %s", strerror(errno));
		}
	} else if ((rc = vm_fork_copy_ram(bus, &fd, copied))) {
		/* Anonymous RAM, or too much written since its file: a copy. */
		return err_set(err, rc, "fork: cannot copy guest RAM: %s", strerror(-rc));
	}
	/* Anonymous RAM (KSM's, a migrated VM's) stays so: nothing to rebase. */
	if (bus->ram_from_file && (out->ram_file = fcntl(bus->ram_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		close(fd);
		if (out->diff >= 0)
			close(out->diff);
		out->diff = -1;
		return err_set(err, -errno, "fork: guest RAM's file: %s", strerror(errno));
	}
	out->image = fd;
	return 0;
}


/* The image into out, sparse: its holes and its zero pages stay holes. */
static int copy_image(struct vm_fork_images *f, int image, int out, uint64_t size)
{
	const size_t page = 1u << BUS_PAGE_SHIFT;
	if (ftruncate(out, (off_t)size) < 0)
		return -errno;
	uint8_t *buf = malloc(CHUNK);
	if (!buf)
		return -ENOMEM;
	int rc = 0;
	for (off_t off = 0; !rc && (uint64_t)off < size;) {
		off_t data = lseek(image, off, SEEK_DATA);
		if (data < 0) {
			rc = errno == ENXIO ? 0 : -errno;   /* ENXIO: holes to the end */
			break;
		}
		off_t hole = lseek(image, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		for (off_t at = data; !rc && at < hole;) {
			size_t want = (size_t)(hole - at) < CHUNK ? (size_t)(hole - at) : CHUNK;
			wait_calm(f);
			ssize_t n = pread(image, buf, want, at);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = n < 0 ? -errno : -EIO;
				break;
			}
			/* Runs of non-zero pages, one write each. */
			for (size_t i = 0; !rc && i < (size_t)n;) {
				size_t len = (size_t)n - i < page ? (size_t)n - i : page;
				if (bytes_are_zero(buf + i, len)) {
					i += len;
					continue;
				}
				size_t j = i + len;
				while (j < (size_t)n && !bytes_are_zero(buf + j, (size_t)n - j < page ? (size_t)n - j : page))
					j += (size_t)n - j < page ? (size_t)n - j : page;
				rc = io_pwrite_all(out, buf + i, j - i, at + (off_t)i);
				i = j;
			}
			at += n;
		}
		off = hole;
	}
	free(buf);
	return rc;
}

/* The data of src into dst (both size bytes), in the kernel where it can:
 * its holes stay holes. */
static int copy_extents(struct vm_fork_images *f, int src, int dst, uint64_t size)
{
	uint8_t *buf = NULL;
	int rc = 0;
	for (off_t off = 0; !rc && (uint64_t)off < size;) {
		off_t data = lseek(src, off, SEEK_DATA);
		if (data < 0) {
			rc = errno == ENXIO ? 0 : -errno;
			break;
		}
		off_t hole = lseek(src, data, SEEK_HOLE);
		if (hole < 0 || (uint64_t)hole > size)
			hole = (off_t)size;
		for (off_t at = data; !rc && at < hole;) {
			size_t want = (size_t)(hole - at) < CHUNK ? (size_t)(hole - at) : CHUNK;
			ssize_t n = -1;
			wait_calm(f);
			if (!buf) {
				loff_t in = at, out = at;
				n = copy_file_range(src, &in, dst, &out, want, 0);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0 && !(buf = malloc(CHUNK))) {
					rc = -ENOMEM;
					break;
				}
			}
			if (n <= 0) {   /* no in-kernel copy here: through a buffer from now on */
				n = pread(src, buf, want < CHUNK ? want : CHUNK, at);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					rc = n < 0 ? -errno : -EIO;
					break;
				}
				rc = io_pwrite_all(dst, buf, (size_t)n, at);
			}
			at += n;
		}
		off = hole;
	}
	free(buf);
	return rc;
}

/* The pages of a memory.diff (vm_ram_write_diff: a 24-byte header, then
 * records of a little-endian u64 page number and the page) over out. */
static int copy_diff(int diff, int out, uint64_t size)
{
	const uint64_t page = 1u << BUS_PAGE_SHIFT;
	uint8_t *rec = malloc(8 + page);
	if (!rec)
		return -ENOMEM;
	int rc = 0;
	for (off_t at = 24;; at += 8 + (off_t)page) {
		ssize_t n = pread(diff, rec, 8 + page, at);
		if (n == 0)
			break;
		uint64_t pfn = 0;
		for (unsigned i = 0; i < 8 && n > 0; i++)
			pfn |= (uint64_t)rec[i] << (8 * i);
		if (n != (ssize_t)(8 + page) || pfn >= size / page) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		if ((rc = io_pwrite_all(out, rec + 8, page, (off_t)(pfn * page))))
			break;
	}
	free(rec);
	return rc;
}

struct rebase {
	int from, to;             /* the file RAM was mapped from; its copy */
	bool done;
};

/* The VM paused: the parent's private pages into the copy, which becomes
 * its RAM, shared.  Not if RAM is no longer from that file (a later fork's
 * rebase came first) or a migration reads it. */
/* 1 if RAM is still a private mapping of r->from (and no migration reads
 * it), else 0. */
static int still_from(struct vm_parts *p, void *ctx)
{
	struct rebase *r = ctx;
	struct bus *bus = p->bus;
	struct stat now, was;
	return bus->ram_from_file && !atomic_load(&p->chain->migrating) &&
	       fstat(bus->ram_fd, &now) == 0 && fstat(r->from, &was) == 0 &&
	       now.st_dev == was.st_dev && now.st_ino == was.st_ino;
}

static int rebase_paused(struct vm_parts *p, void *ctx)
{
	struct rebase *r = ctx;
	struct bus *bus = p->bus;
	if (!still_from(p, ctx))
		return 0;
	const uint64_t page = 1u << BUS_PAGE_SHIFT, n = bus->ram_size / page;
	uint64_t *written = calloc(n / 64 + 1, sizeof *written);
	if (!written)
		return -ENOMEM;
	int rc = bus_ram_changed_from_file(bus, written);
	for (uint64_t i = 0; !rc && i < n;) {
		if (!(written[i / 64] >> (i % 64) & 1)) {
			i++;
			continue;
		}
		uint64_t j = i + 1;
		while (j < n && written[j / 64] >> (j % 64) & 1)
			j++;
		rc = io_pwrite_all(r->to, bus->ram + i * page, (j - i) * page, (off_t)(i * page));
		i = j;
	}
	free(written);
	if (!rc && !(rc = bus_ram_rebase(bus, r->to))) {
		r->done = true;
		/* An incremental chain on a restore counted private copies of
		 * that snapshot's file: there are none now. */
		if (p->chain->from_file)
			p->chain->valid = false;
	}
	return rc;
}

/* A copy at the lowest priority, on a thread of its own: the pause that
 * follows it must not wait behind a niced thread (which could not take its
 * priority back unprivileged). */
struct low_copy {
	struct vm_fork_images *set;
	int from, to;
	uint64_t size;
	int rc;
};

static void *low_copy_thread(void *arg)
{
	struct low_copy *c = arg;
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	c->rc = copy_extents(c->set, c->from, c->to, c->size);
	return NULL;
}

static int new_ram_file(struct vm_fork_images *f, uint64_t size);

/* The parent's RAM onto a memfd of its own, shared (see the top). */
static void rebase(struct writer *w)
{
	struct rebase r = { .from = w->rebase_from, .to = -1 };
	/* An earlier fork's rebase may have done it since this fork. */
	if (!vm_call_locked(w->vm, still_from, &r))
		return;
	int to = r.to = new_ram_file(w->set, w->size);
	struct err err = { 0 };
	int rc = to < 0 ? to : 0;
	struct low_copy c = { .set = w->set, .from = w->rebase_from, .to = to, .size = w->size };
	pthread_t t;
	if (!rc && !(rc = -pthread_create(&t, NULL, low_copy_thread, &c))) {
		pthread_join(t, NULL);
		rc = c.rc;
	}
	if (!rc) {
		tmark("fork: parent's RAM copied");
		rc = vm_call_paused(w->vm, rebase_paused, &r, &err);
	}
	tmark("fork: parent's RAM its own again");
	if (!r.done && to >= 0)
		close(to);
	/* Not running any more, or paused by no one: its next fork copies. */
	if (rc && rc != -ESRCH && rc != -EBUSY) {
		char msg[sizeof err.msg + 128];
		snprintf(msg, sizeof msg, "cannot give the VM its own RAM back after a fork (its "
			 "next fork copies RAM): %s", rc == -ESRCH || !err.msg[0] ? strerror(-rc)
			 : err.msg);
		log_emit(w->log, "fork", msg);
	}
}

/* After the fork: the parent's rebase, then DIR/memory from the image,
 * through a temporary name, not synced (as the fork's state file: the
 * children read the image, not this file). */
static void *after_thread(void *arg)
{
	struct writer *w = arg;
	/* Its copy runs at nice 19 (the guest and the children starting up
	 * come first: a fork that follows need not wait for it, it takes the
	 * image and the pages written since), its pause at the VM's priority. */
	if (w->rebase_from >= 0) {
		rebase(w);
		close(w->rebase_from);
		w->rebase_from = -1;
		pthread_mutex_lock(&w->set->lock);
		w->set->rebasing--;
		pthread_mutex_unlock(&w->set->lock);
	}
	/* The file is for later restores: the guest, the children starting up
	 * and the next fork's rebase come first (nice applies to this thread
	 * alone).  Best effort. */
	(void)setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	char tmp[4200], path[4200], msg[4400];
	snprintf(tmp, sizeof tmp, "%s/.memory.tmp", w->dir);
	snprintf(path, sizeof path, "%s/memory", w->dir);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = fd < 0 ? -errno : copy_image(w->set, w->image, fd, w->size);
	if (!rc && w->diff >= 0)
		rc = copy_diff(w->diff, fd, w->size);
	if (fd >= 0)
		close(fd);
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc) {
		unlink(tmp);
		snprintf(msg, sizeof msg, "%s: cannot write the fork's memory file: %s (its "
			 "children run on; the directory cannot be restored)", path, strerror(-rc));
		log_emit(w->log, "fork", msg);
	}
	tmark("fork: memory file written");
	close(w->image);
	w->image = -1;
	if (w->diff >= 0)
		close(w->diff);
	w->diff = -1;
	atomic_store(&w->done, true);
	return NULL;
}

/* Joins the writers that have finished (lock held). */
static void reap(struct vm_fork_images *f)
{
	for (struct writer **pp = &f->list; *pp;) {
		struct writer *w = *pp;
		if (!atomic_load(&w->done)) {
			pp = &w->next;
			continue;
		}
		pthread_join(w->thread, NULL);
		*pp = w->next;
		free(w);
	}
}

struct vm_fork_images *vm_fork_images_new(void)
{
	struct vm_fork_images *f = calloc(1, sizeof *f);
	if (f) {
		f->tmpfs = -1;
		pthread_mutex_init(&f->lock, NULL);
		pthread_condattr_t ca;   /* timed waits on the monotonic clock */
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&f->calm, &ca);
		pthread_condattr_destroy(&ca);
	}
	return f;
}

int vm_fork_image_after(struct vm *vm, struct vm_fork_images *f, const char *dir,
			const struct vm_fork_image *img, const struct log_sink *log, struct err *err)
{
	struct writer *w = calloc(1, sizeof *w);
	if (!w) {
		vm_fork_image_close(img);
		return err_set(err, -ENOMEM, "fork: out of memory");
	}
	struct vm_parts p;
	vm_parts(vm, &p);
	w->vm = vm;
	w->set = f;
	w->image = img->image;
	w->diff = img->diff;
	w->rebase_from = img->ram_file;
	w->size = p.bus->ram_size;
	w->log = log;
	snprintf(w->dir, sizeof w->dir, "%s", dir);
	pthread_mutex_lock(&f->lock);
	reap(f);
	/* One rebase at a time: one under way makes RAM the VM's own already
	 * (it adds what was written since it began). */
	if (w->rebase_from >= 0 && f->rebasing) {
		close(w->rebase_from);
		w->rebase_from = -1;
	}
	int rc = -pthread_create(&w->thread, NULL, after_thread, w);
	if (!rc) {
		w->next = f->list;
		f->list = w;
		f->rebasing += w->rebase_from >= 0;
	}
	pthread_mutex_unlock(&f->lock);
	if (rc) {
		struct vm_fork_image left = { w->image, w->diff, w->rebase_from };
		vm_fork_image_close(&left);
		free(w);
		return err_set(err, rc, "fork: cannot start the thread writing %s/memory: %s", dir,
			       strerror(-rc));
	}
	return 0;
}

bool vm_fork_ready_suits_host(void)
{
	return bus_shared_ram_hugepages() || vm_fork_tmpfs_available();
}

/* f's private tmpfs, mounted at the first call where memfds get no huge
 * pages and nimbus may mount one (f->lock held): -1 for none (memfds). */
static int tmpfs_of(struct vm_fork_images *f)
{
	if (f->tmpfs == -1) {
		int mnt = bus_shared_ram_hugepages() ? -1 : vm_fork_tmpfs_mount();
		f->tmpfs = mnt >= 0 ? mnt : -2;   /* -2: asked, none (EPERM stays so) */
	}
	return f->tmpfs >= 0 ? f->tmpfs : -1;
}

/* A new file for RAM of size bytes: on f's tmpfs where there is one (and a
 * file can be made there), else a memfd.  Its descriptor or -errno. */
static int new_ram_file(struct vm_fork_images *f, uint64_t size)
{
	pthread_mutex_lock(&f->lock);
	int mnt = tmpfs_of(f);
	pthread_mutex_unlock(&f->lock);
	int fd = mnt >= 0 ? vm_fork_tmpfs_file(mnt, "nimbus-guest-ram", size) : -1;
	if (fd >= 0)
		return fd;
	if ((fd = memfd_create("nimbus-guest-ram", MFD_CLOEXEC)) < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

int vm_fork_images_share_ram(struct vm_fork_images *f, struct bus *bus)
{
	int fd = new_ram_file(f, bus->ram_size);
	int rc = fd < 0 ? fd : bus_ram_share_file(bus, fd);
	if (rc && fd >= 0)
		close(fd);
	return rc;
}

void vm_fork_image_close(const struct vm_fork_image *img)
{
	if (img->image >= 0)
		close(img->image);
	if (img->diff >= 0)
		close(img->diff);
	if (img->ram_file >= 0)
		close(img->ram_file);
}

void vm_fork_images_free(struct vm_fork_images *f)
{
	if (!f)
		return;
	/* Joined without the lock: a thread takes it as its rebase ends. */
	pthread_mutex_lock(&f->lock);
	struct writer *list = f->list;
	f->list = NULL;
	pthread_mutex_unlock(&f->lock);
	for (struct writer *w = list, *next; w; w = next) {
		next = w->next;
		pthread_join(w->thread, NULL);
		free(w);
	}
	if (f->tmpfs >= 0)
		close(f->tmpfs);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->calm);
	free(f);
}
