/*
 * TAP backend: one /dev/net/tun file descriptor set to IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR, so each read() is one Ethernet frame from the host kernel
 * and each write() one frame into it, each after a 12-byte virtio_net_hdr
 * (TUNSETVNETHDRSZ; the layout of virtio 1.x, num_buffers included).  The
 * kernel takes GSO frames and partial checksums from the guest as they are
 * (send_vnet: it segments or passes them on whole to a bridge or a local
 * socket), and hands us large frames and partial checksums only as far as
 * set_offloads (TUNSETOFFLOAD, from what the driver negotiated) allows.
 * Plain send/receive put a zero header in front / drop the kernel's (no
 * offloads are allowed until set_offloads says so).  A kernel or a
 * persistent tap that refuses IFF_VNET_HDR gets plain frames, and the
 * device segments for it (no NET_BE_CAP_VNET_HDR).
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MAX_IOV 1024   /* the device's most segments per frame (VQ_MAX_SEGS) */

struct tap {
	struct net_backend be;
	int fd, wake;
	char ifname[IFNAMSIZ];
	pthread_t thread;
	bool started, vnet;          /* vnet: IFF_VNET_HDR took */
	_Atomic bool stop;
	uint8_t buf[NET_VNET_HDR_BYTES + NET_MAX_FRAME];   /* our thread's */
};

static void kick(struct tap *t)
{
	uint64_t one = 1;
	while (write(t->wake, &one, sizeof one) < 0 && errno == EINTR)
		;
}

/* One frame read from the tap (with its header when vnet) to the device. */
static int deliver(struct tap *t, size_t n)
{
	if (!t->vnet)
		return t->be.receive(t->be.dev, t->buf, n);
	if (t->be.receive_vnet)
		return t->be.receive_vnet(t->be.dev, t->buf, n);
	if (n < NET_VNET_HDR_BYTES)
		return 1;   /* cannot happen with a vnet tap: drop */
	return t->be.receive(t->be.dev, t->buf + NET_VNET_HDR_BYTES, n - NET_VNET_HDR_BYTES);
}

static void *thread_main(void *opaque)
{
	struct tap *t = opaque;
	ssize_t held = -1;   /* length of a frame in buf the device has not taken */
	bool dead = false;   /* the interface went away: stop polling it */
	while (!atomic_load(&t->stop)) {
		if (held >= 0) {
			if (!deliver(t, (size_t)held)) {
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
				if (!deliver(t, (size_t)n)) {
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

static int tap_send_vnet(struct net_backend *be, const uint8_t hdr[NET_VNET_HDR_BYTES],
			 const struct iovec *iov, int cnt)
{
	struct tap *t = (struct tap *)be;
	struct iovec v[1 + MAX_IOV];
	if (cnt < 0 || cnt > MAX_IOV)
		return -EMSGSIZE;
	int k = 0;
	if (t->vnet)
		v[k++] = (struct iovec){ (void *)hdr, NET_VNET_HDR_BYTES };
	for (int i = 0; i < cnt; i++)
		v[k++] = iov[i];
	ssize_t n;
	while ((n = writev(t->fd, v, k)) < 0 && errno == EINTR)
		;
	return n < 0 ? -errno : 0;
}

static int tap_send(struct net_backend *be, const struct iovec *iov, int cnt)
{
	static const uint8_t none[NET_VNET_HDR_BYTES];   /* no offload asked */
	return tap_send_vnet(be, none, iov, cnt);
}

static void tap_set_offloads(struct net_backend *be, unsigned offloads)
{
	struct tap *t = (struct tap *)be;
	if (!t->vnet)
		return;
	unsigned long f = 0;
	if (offloads & NET_OFFLOAD_CSUM) {
		f |= TUN_F_CSUM;
		f |= offloads & NET_OFFLOAD_TSO4 ? TUN_F_TSO4 : 0;
		f |= offloads & NET_OFFLOAD_TSO6 ? TUN_F_TSO6 : 0;
		f |= offloads & NET_OFFLOAD_ECN ? TUN_F_TSO_ECN : 0;
	}
	/* Refused (an old kernel): the kernel keeps sending complete frames. */
	(void)ioctl(t->fd, TUNSETOFFLOAD, f);
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

static const struct net_backend_ops tap_ops = {
	.start = tap_start, .send = tap_send, .rx_ready = tap_rx_ready, .close = tap_close,
	.send_vnet = tap_send_vnet, .set_offloads = tap_set_offloads,
};

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
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	t->vnet = true;
	int r = ioctl(t->fd, TUNSETIFF, &ifr);
	if (r < 0 && errno == EINVAL) {
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI;   /* flags the tap refuses: plain frames */
		t->vnet = false;
		r = ioctl(t->fd, TUNSETIFF, &ifr);
	}
	if (r < 0) {
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
	if (t->vnet) {
		int sz = NET_VNET_HDR_BYTES;
		if (ioctl(t->fd, TUNSETVNETHDRSZ, &sz) < 0 || ioctl(t->fd, TUNSETOFFLOAD, 0ul) < 0) {
			rc = err_set(err, -errno, "tap %s: cannot set its virtio-net header: %s",
				     ifr.ifr_name, strerror(errno));
			goto fail;
		}
		t->be.caps = NET_BE_CAP_VNET_HDR;
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

int net_tap_adopt(int fd, const char *ifname, struct net_backend **out, struct err *err)
{
	*out = NULL;
	struct stat st;
	/* /dev/net/tun is the misc device 10:200; anything else would be read
	 * and written as if it carried frames. */
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 ||
	    minor(st.st_rdev) != 200) {
		close(fd);
		return err_set(err, -EINVAL, "tap %.16s: the descriptor passed is not /dev/net/tun",
			       ifname);
	}
	struct tap *t = calloc(1, sizeof *t);
	if (!t) {
		close(fd);
		return err_set(err, -ENOMEM, "tap: out of memory");
	}
	t->be.ops = &tap_ops;
	t->fd = fd;
	t->vnet = true;   /* the caller's promise (tap.h): a sandbox may not ask the kernel */
	t->be.caps = NET_BE_CAP_VNET_HDR;
	int on = 1, rc;
	snprintf(t->ifname, sizeof t->ifname, "%.*s", IFNAMSIZ - 1, ifname);
	snprintf(t->be.label, sizeof t->be.label, "tap %s", t->ifname);
	t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->wake < 0 || ioctl(fd, FIONBIO, &on) < 0) {
		rc = err_set(err, -errno, "tap %s: %s", t->ifname, strerror(errno));
		tap_close(&t->be);
		return rc;
	}
	*out = &t->be;
	return 0;
}

const char *net_tap_ifname(const struct net_backend *be)
{
	return ((const struct tap *)be)->ifname;
}
