/*
 * TAP backend: one /dev/net/tun file descriptor set to IFF_TAP | IFF_NO_PI,
 * so each read() is one Ethernet frame from the host kernel and each
 * write() one frame into it.  No IFF_VNET_HDR: the device model completes
 * checksums and never offloads, so plain frames suffice.
 *
 * Guest frames are written directly from the device's I/O thread
 * (non-blocking: a full kernel queue drops the frame, -EAGAIN).  Our
 * thread polls the tap fd and an eventfd; a frame the device cannot take
 * (no receive buffer) is held, and the tap fd leaves the poll set until
 * rx_ready, so the kernel's queue (txqueuelen) absorbs the burst and then
 * drops, as a real NIC would.
 *
 * Creating a tap needs CAP_NET_ADMIN; attaching to a persistent one made
 * with `ip tuntap add NAME mode tap user USER` does not.  We bring the link
 * up when allowed and otherwise leave it as the administrator set it;
 * addresses and bridge membership are the administrator's business.
 */
#include "vmm/net/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct tap {
	struct net_backend be;
	int fd, wake;
	char ifname[IFNAMSIZ];
	pthread_t thread;
	bool started;
	_Atomic bool stop;
	uint8_t buf[NET_MAX_FRAME];   /* our thread's */
};

static void kick(struct tap *t)
{
	uint64_t one = 1;
	while (write(t->wake, &one, sizeof one) < 0 && errno == EINTR)
		;
}

static void *thread_main(void *opaque)
{
	struct tap *t = opaque;
	ssize_t held = -1;   /* length of a frame in buf the device has not taken */
	bool dead = false;   /* the interface went away: stop polling it */
	while (!atomic_load(&t->stop)) {
		if (held >= 0) {
			if (!t->be.receive(t->be.dev, t->buf, (size_t)held)) {
				/* still no room: wait for rx_ready */
			} else {
				held = -1;
			}
		}
		if (held < 0 && !dead) {
			/* Drain what the kernel has, up to a batch, then poll. */
			for (int i = 0; i < 64; i++) {
				ssize_t n = read(t->fd, t->buf, sizeof t->buf);
				if (n < 0)
					break;   /* EAGAIN, or the interface went down (EIO) */
				if (!t->be.receive(t->be.dev, t->buf, (size_t)n)) {
					held = n;
					break;
				}
			}
		}
		struct pollfd p[2] = {
			{ .fd = t->wake, .events = POLLIN },
			{ .fd = held >= 0 || dead ? -1 : t->fd, .events = POLLIN },
		};
		if (poll(p, 2, -1) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(t->wake, &v, sizeof v) < 0 && errno != EAGAIN)
				break;
		}
		if (p[1].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			log_emit(t->be.log, t->be.label, "interface gone; no more input from it");
			dead = true;
		}
	}
	return NULL;
}

static int tap_start(struct net_backend *be, struct err *err)
{
	struct tap *t = (struct tap *)be;
	int rc = pthread_create(&t->thread, NULL, thread_main, t);
	if (rc)
		return err_set(err, -rc, "%s: cannot start its thread: %s", be->label, strerror(rc));
	t->started = true;
	return 0;
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int cnt)
{
	struct tap *t = (struct tap *)be;
	ssize_t n;
	while ((n = writev(t->fd, iov, cnt)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : 0;
}

static void tap_rx_ready(struct net_backend *be) { kick((struct tap *)be); }

static void tap_close(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;
	if (t->started) {
		atomic_store(&t->stop, true);
		kick(t);
		pthread_join(t->thread, NULL);
	}
	if (t->fd >= 0)
		close(t->fd);
	if (t->wake >= 0)
		close(t->wake);
	free(t);
}

static const struct net_backend_ops tap_ops = { tap_start, tap_send, tap_rx_ready, tap_close };

/* Sets IFF_UP if it is not; failure (no CAP_NET_ADMIN) is not an error. */
static void bring_up(const char *name)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return;
	struct ifreq ifr = {0};
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
}

int net_tap_open(const char *ifname, struct net_backend **out, struct err *err)
{
	*out = NULL;
	if (!ifname)
		ifname = "";
	if (strlen(ifname) >= IFNAMSIZ)
		return err_set(err, -EINVAL, "tap %s: name longer than %d characters", ifname,
			       IFNAMSIZ - 1);
	struct tap *t = calloc(1, sizeof *t);
	if (!t)
		return err_set(err, -ENOMEM, "tap: out of memory");
	t->be.ops = &tap_ops;
	t->wake = -1;
	int rc;
	const char *shown = *ifname ? ifname : "(any name)";
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		int e = errno;
		if (e == ENOENT || e == ENODEV || e == ENXIO)
			rc = err_set(err, -e, "tap %s: no /dev/net/tun (load the tun module: "
				     "modprobe tun)", shown);
		else if (e == EACCES || e == EPERM)
			rc = err_set(err, -e, "tap %s: no permission to open /dev/net/tun (needs "
				     "read-write access to it, e.g. root or its group)", shown);
		else
			rc = err_set(err, -e, "tap %s: cannot open /dev/net/tun: %s", shown, strerror(e));
		goto fail;
	}
	struct ifreq ifr = {0};
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;
		if (e == EPERM || e == EACCES)
			rc = err_set(err, -e, "tap %s: no permission to create or attach it (needs "
				     "CAP_NET_ADMIN, or a tap made for your user beforehand: "
				     "ip tuntap add NAME mode tap user $USER)", shown);
		else if (e == EBUSY)
			rc = err_set(err, -e, "tap %s: device busy (another process has it open)", shown);
		else if (e == EINVAL)
			rc = err_set(err, -e, "tap %s: exists but is not a tap without packet "
				     "information (a tun device, or other flags)", shown);
		else
			rc = err_set(err, -e, "tap %s: TUNSETIFF: %s", shown, strerror(e));
		goto fail;
	}
	snprintf(t->ifname, sizeof t->ifname, "%s", ifr.ifr_name);
	snprintf(t->be.label, sizeof t->be.label, "tap %s", t->ifname);
	t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake < 0) {
		rc = err_set(err, -errno, "tap %s: eventfd: %s", t->ifname, strerror(errno));
		goto fail;
	}
	bring_up(t->ifname);
	*out = &t->be;
	return 0;
fail:
	tap_close(&t->be);
	return rc;
}

const char *net_tap_ifname(const struct net_backend *be)
{
	return ((const struct tap *)be)->ifname;
}
