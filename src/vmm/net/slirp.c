/*
 * User-mode NAT over libslirp: the guest's frames go into a slirp
 * instance, which speaks to the outside world through ordinary host
 * sockets, and slirp's frames for the guest come back out.  Defaults as
 * QEMU's: network 10.0.2.0/24, gateway and host loopback 10.0.2.2, DNS
 * 10.0.2.3, DHCP from 10.0.2.15; IPv6 fec0::/64 with the same host parts.
 *
 * libslirp is not thread-safe: every call into the instance (slirp_input
 * from the device's I/O thread, polling and timers from our own thread) is
 * made holding `mu`.  Frames slirp emits (the send_packet callback, with
 * `mu` held, possibly inside slirp_input on the device's thread) are only
 * queued; our thread hands them to the device without holding `mu`, so the
 * device lock is never taken under `mu` (the device calls send with its
 * lock held, which takes `mu`: order device lock, then mu).
 *
 * Back-pressure: when the device answers "no receive buffer", the frame
 * stays at the head of the queue until rx_ready wakes the thread.  While
 * the queue is above RXQ_HIGH the thread stops reading slirp's host
 * sockets (their fds leave the poll set), so host TCP peers are slowed by
 * their own windows rather than frames being dropped; frames slirp makes
 * meanwhile (ACKs, timer retransmits) are dropped only past RXQ_CAP.
 *
 * Timers: slirp asks for timers through callbacks; we keep a small table
 * and fire due ones after each poll.  The poll timeout is the earliest of
 * slirp's own (TCP timers) and ours.
 *
 * The library is loaded with dlopen so the VMM binary has no link-time
 * dependency on it; the function table lives in the instance.
 */
#include "vmm/net/slirp.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "vmm/snap_stream.h"

#define RXQ_CAP 512u
#define RXQ_HIGH 256u
#define MAX_TIMERS 16u
#define CONFIG_VERSION (SLIRP_CONFIG_VERSION_MAX < 4 ? SLIRP_CONFIG_VERSION_MAX : 4)

struct fns {
	__typeof__(slirp_new) *new_;
	__typeof__(slirp_cleanup) *cleanup;
	__typeof__(slirp_pollfds_fill) *pollfds_fill;
	__typeof__(slirp_pollfds_poll) *pollfds_poll;
	__typeof__(slirp_input) *input;
	__typeof__(slirp_handle_timer) *handle_timer;
	__typeof__(slirp_add_hostfwd) *add_hostfwd;
	/* Optional (NULL: a snapshot keeps no NAT state). */
	__typeof__(slirp_state_save) *state_save;
	__typeof__(slirp_state_load) *state_load;
	__typeof__(slirp_state_version) *state_version;
};

struct frame {
	size_t len;
	uint8_t data[];
};

struct stimer {
	bool used, armed;
	SlirpTimerId id;              /* timer_new_opaque timers */
	SlirpTimerCb cb;              /* timer_new timers (older libslirp) */
	void *cb_opaque;
	int64_t expire_ms;
};

struct sl {
	struct net_backend be;
	void *dl;
	struct fns f;
	Slirp *slirp;
	int wake;                     /* eventfd: tx happened, rx_ready, slirp notify, stop */
	pthread_t thread;
	bool started;
	_Atomic bool stop;

	pthread_mutex_t mu;           /* slirp, the queue, the timers */
	struct frame *q[RXQ_CAP];     /* frames for the guest, oldest at q_head */
	unsigned q_head, q_len;
	uint64_t q_dropped;
	struct stimer timers[MAX_TIMERS];
	uint8_t txbuf[NET_MAX_FRAME]; /* a guest frame made contiguous for slirp_input */

	/* Thread-local to our thread: */
	struct pollfd *pfd;
	unsigned npfd, cap;
	bool masked;                  /* slirp's fds left out of this round's poll */
};

static void kick(struct sl *s)
{
	uint64_t one = 1;
	while (write(s->wake, &one, sizeof one) < 0 && errno == EINTR)
		;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- callbacks from slirp (mu held) --- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct sl *s = opaque;
	if (s->q_len == RXQ_CAP || len > NET_MAX_FRAME) {
		s->q_dropped++;
		return (ssize_t)len;
	}
	struct frame *f = malloc(sizeof *f + len);
	if (!f) {
		s->q_dropped++;
		return (ssize_t)len;
	}
	f->len = len;
	memcpy(f->data, buf, len);
	s->q[(s->q_head + s->q_len++) % RXQ_CAP] = f;
	if (!s->started || !pthread_equal(pthread_self(), s->thread))
		kick(s);
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct net_backend *be = &((struct sl *)opaque)->be;
	char line[320];
	snprintf(line, sizeof line, "guest error: %s", msg);
	log_emit(be->log, be->label, line);
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct stimer *timer_alloc(struct sl *s)
{
	for (unsigned i = 0; i < MAX_TIMERS; i++)
		if (!s->timers[i].used) {
			s->timers[i] = (struct stimer){ .used = true };
			return &s->timers[i];
		}
	/* libslirp 4.7 makes one timer per instance; running out is a bug
	 * here, and slirp cannot take NULL for an answer. */
	fprintf(stderr, "nimbus: %s: out of slirp timers\n", s->be.label);
	abort();
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct stimer *t = timer_alloc(opaque);
	t->cb = cb;
	t->cb_opaque = cb_opaque;
	return t;
}

#if CONFIG_VERSION >= 4
static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct stimer *t = timer_alloc(opaque);
	t->id = id;
	t->cb_opaque = cb_opaque;
	return t;
}

static void cb_init_completed(Slirp *slirp, void *opaque)
{
	(void)slirp;
	(void)opaque;
}
#endif

static void cb_timer_free(void *timer, void *opaque)
{
	(void)opaque;
	((struct stimer *)timer)->used = false;
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct stimer *t = timer;
	t->armed = true;
	t->expire_ms = expire_ms;
	kick(opaque);   /* the poll timeout may need to shrink */
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;   /* the poll set is rebuilt every round */
}

static void cb_notify(void *opaque) { kick(opaque); }

static const SlirpCb callbacks = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_register_poll_fd,
	.notify = cb_notify,
#if CONFIG_VERSION >= 4
	.init_completed = cb_init_completed,
	.timer_new_opaque = cb_timer_new_opaque,
#endif
};

/* --- poll set --- */

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct sl *s = opaque;
	if (s->npfd == s->cap) {
		unsigned cap = s->cap ? 2 * s->cap : 64;
		struct pollfd *p = realloc(s->pfd, cap * sizeof *p);
		if (!p)
			return -1;   /* slirp treats a negative index as "not polled" */
		s->pfd = p;
		s->cap = cap;
	}
	short ev = 0;
	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	s->pfd[s->npfd] = (struct pollfd){ .fd = s->masked ? -1 : fd, .events = ev };
	return (int)s->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
	struct sl *s = opaque;
	if (idx < 1 || (unsigned)idx >= s->npfd)
		return 0;
	short r = s->pfd[idx].revents;
	int ev = 0;
	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & (POLLERR | POLLNVAL))
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

/* Hands queued frames to the device; false if it had no room. */
static bool deliver(struct sl *s)
{
	for (;;) {
		pthread_mutex_lock(&s->mu);
		struct frame *f = s->q_len ? s->q[s->q_head] : NULL;
		pthread_mutex_unlock(&s->mu);
		if (!f)
			return true;
		/* Only this thread removes frames, so f stays at the head. */
		if (!s->be.receive(s->be.dev, f->data, f->len))
			return false;
		pthread_mutex_lock(&s->mu);
		s->q_head = (s->q_head + 1) % RXQ_CAP;
		s->q_len--;
		pthread_mutex_unlock(&s->mu);
		free(f);
	}
}

static void *thread_main(void *opaque)
{
	struct sl *s = opaque;
	bool blocked = false;   /* the device had no buffer: wait for rx_ready */
	while (!atomic_load(&s->stop)) {
		if (!blocked)
			blocked = !deliver(s);

		pthread_mutex_lock(&s->mu);
		s->masked = s->q_len >= RXQ_HIGH;
		s->npfd = 0;
		cb_add_poll(s->wake, SLIRP_POLL_IN, s);
		s->pfd[0].fd = s->wake;
		uint32_t timeout = UINT32_MAX;
		s->f.pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
		int64_t now = now_ms();
		for (unsigned i = 0; i < MAX_TIMERS; i++) {
			struct stimer *t = &s->timers[i];
			if (t->used && t->armed) {
				int64_t d = t->expire_ms - now;
				d = d < 0 ? 0 : d;
				if ((uint64_t)d < timeout)
					timeout = (uint32_t)d;
			}
		}
		pthread_mutex_unlock(&s->mu);

		int ms = timeout > 60000 ? 60000 : (int)timeout;
		int n = poll(s->pfd, s->npfd, ms);
		if (n > 0 && (s->pfd[0].revents & POLLIN)) {
			uint64_t v;
			if (read(s->wake, &v, sizeof v) > 0)
				blocked = false;   /* rx_ready among others: try again */
		}

		pthread_mutex_lock(&s->mu);
		s->f.pollfds_poll(s->slirp, n < 0 && errno != EINTR, cb_get_revents, s);
		now = now_ms();
		for (unsigned i = 0; i < MAX_TIMERS; i++) {
			struct stimer *t = &s->timers[i];
			if (t->used && t->armed && t->expire_ms <= now) {
				t->armed = false;
				if (t->cb)
					t->cb(t->cb_opaque);
#if CONFIG_VERSION >= 4
				else
					s->f.handle_timer(s->slirp, t->id, t->cb_opaque);
#endif
			}
		}
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/* --- backend ops --- */

static int sl_start(struct net_backend *be, struct err *err)
{
	struct sl *s = (struct sl *)be;
	int rc = pthread_create(&s->thread, NULL, thread_main, s);
	if (rc)
		return err_set(err, -rc, "%s: cannot start its thread: %s", be->label, strerror(rc));
	s->started = true;
	return 0;
}

static int sl_send(struct net_backend *be, const struct iovec *iov, int cnt)
{
	struct sl *s = (struct sl *)be;
	pthread_mutex_lock(&s->mu);
	size_t len = 0;
	for (int i = 0; i < cnt; i++) {
		if (iov[i].iov_len > sizeof s->txbuf - len) {
			pthread_mutex_unlock(&s->mu);
			return -EMSGSIZE;
		}
		memcpy(s->txbuf + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	s->f.input(s->slirp, s->txbuf, (int)len);
	pthread_mutex_unlock(&s->mu);
	kick(s);   /* new sockets to poll, or frames queued for the guest */
	return 0;
}

static void sl_rx_ready(struct net_backend *be) { kick((struct sl *)be); }

static void sl_close(struct net_backend *be)
{
	struct sl *s = (struct sl *)be;
	if (s->started) {
		atomic_store(&s->stop, true);
		kick(s);
		pthread_join(s->thread, NULL);
	}
	if (s->slirp)
		s->f.cleanup(s->slirp);
	for (unsigned i = 0; i < s->q_len; i++)
		free(s->q[(s->q_head + i) % RXQ_CAP]);
	free(s->pfd);
	if (s->wake >= 0)
		close(s->wake);
	if (s->dl)
		dlclose(s->dl);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/*
 * Snapshot of the NAT (libslirp's own versioned format, as QEMU's savevm
 * stores it): u32 libslirp state version (0: none), u32 length, the bytes.
 * Frames queued for the guest are not kept (a lost frame, which TCP
 * recovers).
 */
struct blob {
	uint8_t *p;
	size_t len, cap, pos;
	bool nomem;
};

static ssize_t blob_write(const void *buf, size_t len, void *opaque)
{
	struct blob *b = opaque;
	if (b->nomem)
		return -1;
	if (b->cap - b->len < len) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap - b->len < len)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p) {
			b->nomem = true;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, buf, len);
	b->len += len;
	return (ssize_t)len;
}

static ssize_t blob_read(void *buf, size_t len, void *opaque)
{
	struct blob *b = opaque;
	if (len > b->len - b->pos)
		return -1;
	memcpy(buf, b->p + b->pos, len);
	b->pos += len;
	return (ssize_t)len;
}

static int sl_save_state(struct net_backend *be, struct snap_out *o)
{
	struct sl *s = (struct sl *)be;
	struct blob b = {0};
	uint32_t ver = 0;
	pthread_mutex_lock(&s->mu);
	if (s->f.state_save && s->f.state_version) {
		ver = (uint32_t)s->f.state_version();
		s->f.state_save(s->slirp, blob_write, &b);
	}
	pthread_mutex_unlock(&s->mu);
	if (b.nomem) {
		free(b.p);
		return -ENOMEM;
	}
	snap_put_u32(o, ver);
	snap_put_u32(o, (uint32_t)b.len);
	snap_put_bytes(o, b.p, b.len);
	free(b.p);
	return 0;
}

static int sl_load_state(struct net_backend *be, struct snap_in *in)
{
	struct sl *s = (struct sl *)be;
	uint32_t ver = snap_get_u32(in), len = snap_get_u32(in);
	if (in->overrun || len > 64u << 20)
		return -EINVAL;
	struct blob b = { .p = malloc(len ? len : 1), .len = len };
	if (!b.p)
		return -ENOMEM;
	snap_get_bytes(in, b.p, len);
	int rc = 0;
	if (in->overrun) {
		rc = -EINVAL;
	} else if (ver && len) {
		if (!s->f.state_load || (s->f.state_version && ver > (uint32_t)s->f.state_version())) {
			rc = -EINVAL;   /* a newer libslirp wrote it */
		} else {
			pthread_mutex_lock(&s->mu);
			rc = s->f.state_load(s->slirp, (int)ver, blob_read, &b) < 0 ? -EINVAL : 0;
			pthread_mutex_unlock(&s->mu);
			kick(s);   /* restored sockets join the poll set */
		}
	}
	free(b.p);
	return rc;
}

static const struct net_backend_ops sl_ops = {
	.start = sl_start, .send = sl_send, .rx_ready = sl_rx_ready, .close = sl_close,
	.save_state = sl_save_state, .load_state = sl_load_state,
};

static int load(struct sl *s, struct err *err)
{
	s->dl = dlopen("libslirp.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!s->dl)
		return err_set(err, -ENOENT, "--net user needs libslirp (Debian package libslirp0): %s",
			       dlerror());
	struct {
		const char *name;
		void **slot;
	} syms[] = {
		{ "slirp_new", (void **)&s->f.new_ },
		{ "slirp_cleanup", (void **)&s->f.cleanup },
		{ "slirp_pollfds_fill", (void **)&s->f.pollfds_fill },
		{ "slirp_pollfds_poll", (void **)&s->f.pollfds_poll },
		{ "slirp_input", (void **)&s->f.input },
		{ "slirp_handle_timer", (void **)&s->f.handle_timer },
		{ "slirp_add_hostfwd", (void **)&s->f.add_hostfwd },
	};
	for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
		*syms[i].slot = dlsym(s->dl, syms[i].name);
		if (!*syms[i].slot)
			return err_set(err, -ENOENT, "--net user: libslirp.so.0 has no %s (too old?)",
				       syms[i].name);
	}
	*(void **)&s->f.state_save = dlsym(s->dl, "slirp_state_save");
	*(void **)&s->f.state_load = dlsym(s->dl, "slirp_state_load");
	*(void **)&s->f.state_version = dlsym(s->dl, "slirp_state_version");
	return 0;
}

static int add_fwd(struct sl *s, const struct net_hostfwd *f, struct err *err)
{
	errno = 0;
	if (s->f.add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port, f->guest_addr,
			     f->guest_port) == 0)
		return 0;
	int e = errno ? errno : EADDRINUSE;
	char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &f->host_addr, h, sizeof h);
	inet_ntop(AF_INET, &f->guest_addr, g, sizeof g);
	return err_set(err, -e, "--net hostfwd=%s:%s:%u-%s:%u: cannot listen on host port %u: %s",
		       f->udp ? "udp" : "tcp", f->host_addr.s_addr ? h : "", f->host_port, g,
		       f->guest_port, f->host_port, strerror(e));
}

int net_slirp_open(const struct net_hostfwd *fwd, unsigned nfwd,
		   struct net_backend **out, struct err *err)
{
	*out = NULL;
	struct sl *s = calloc(1, sizeof *s);
	if (!s)
		return err_set(err, -ENOMEM, "--net user: out of memory");
	s->be.ops = &sl_ops;
	/* slirp_input takes whole IP packets (up to 64 KiB) and slirp makes
	 * every checksum of what it sends. */
	s->be.caps = NET_BE_CAP_LARGE | NET_BE_CAP_RX_CSUM_VALID;
	snprintf(s->be.label, sizeof s->be.label, "net user");
	pthread_mutex_init(&s->mu, NULL);
	s->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->cap = 64;
	s->pfd = calloc(s->cap, sizeof *s->pfd);
	int rc;
	if (!s->pfd) {
		rc = err_set(err, -ENOMEM, "--net user: out of memory");
		goto fail;
	}
	if (s->wake < 0) {
		rc = err_set(err, -errno, "--net user: eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = load(s, err)))
		goto fail;

	SlirpConfig cfg = { .version = CONFIG_VERSION, .in_enabled = true, .in6_enabled = true };
	inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
	inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
	inet_pton(AF_INET, NET_USER_HOST_ADDR, &cfg.vhost);
	inet_pton(AF_INET, NET_USER_GUEST_ADDR, &cfg.vdhcp_start);
	inet_pton(AF_INET, NET_USER_DNS_ADDR, &cfg.vnameserver);
	inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
	cfg.vprefix_len = 64;
	inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
	inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);
	s->slirp = s->f.new_(&cfg, &callbacks, s);
	if (!s->slirp) {
		rc = err_set(err, -EINVAL, "--net user: libslirp refused the configuration "
			     "(version %d)", CONFIG_VERSION);
		goto fail;
	}
	for (unsigned i = 0; i < nfwd; i++)
		if ((rc = add_fwd(s, &fwd[i], err)))
			goto fail;
	*out = &s->be;
	return 0;
fail:
	sl_close(&s->be);
	return rc;
}
