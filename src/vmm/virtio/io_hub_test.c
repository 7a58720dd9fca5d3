/*
 * Unit tests of the VM's I/O hub: a light device's kicks run on the hub's
 * one thread, a device asking for its own thread gets it at its first kick
 * (not before: a device never kicked costs no thread), and stopping the hub
 * leaves the started threads to their transports.
 */
#include "vmm/virtio/io_hub.h"

#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/testing.h"
#include "vmm/virtio/testdrv.h"

/* A device that returns every chain and notes the thread that ran it. */
struct rec {
	struct virtio_device vdev;
	struct vq_chain chain;
	_Atomic pid_t ran_on;
};

static void rec_notify(struct virtio_device *d, unsigned q)
{
	struct rec *r = (struct rec *)d;
	/* Noted before the push: the test reads it as soon as the used ring moves. */
	atomic_store(&r->ran_on, gettid());
	while (vq_pop(&d->vq[q], &r->chain) == 1)
		vq_push(&d->vq[q], r->chain.head, 0);
	virtio_device_signal(d, q);
}

static void rec_destroy(struct virtio_device *d)
{
	virtio_device_fini(d);
	free(d);
}

static const struct virtio_device_ops light_ops = {
	.name = "virtio-test-light",
	.device_id = 0x7e,
	.num_queues = 1,
	.queue_max = 16,
	.notify = rec_notify,
	.destroy = rec_destroy,
};

static const struct virtio_device_ops own_ops = {
	.name = "virtio-test-own",
	.device_id = 0x7f,
	.own_thread = true,
	.num_queues = 1,
	.queue_max = 16,
	.notify = rec_notify,
	.destroy = rec_destroy,
};

static struct rec *open_dev(struct td *d, const struct virtio_device_ops *ops)
{
	struct rec *r = calloc(1, sizeof *r);
	virtio_device_init(&r->vdev, ops, 0);
	if (td_start(d, &r->vdev, VIRTIO_MMIO_HUB, VIRTIO_F_VERSION_1, 1, 16) < 0)
		return NULL;
	return r;
}

static int threads(void)
{
	int n = 0;
	DIR *dir = opendir("/proc/self/task");
	if (!dir)
		return -1;
	for (struct dirent *e; (e = readdir(dir));)
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * The thread count once it settles at `want`: a joined thread can linger in
 * /proc/self/task for a moment after pthread_join returns (the kernel clears
 * its tid before it finishes exiting).
 */
static int threads_settle(int want)
{
	int n = threads();
	for (int i = 0; i < 200 && n != want; i++) {
		usleep(10 * 1000);
		n = threads();
	}
	return n;
}

/* Posts one buffer on queue 0, kicks, waits for it to come back. */
static int request(struct td *d, uint16_t nth)
{
	td_desc(d, 0, nth % 16, TD_DATA, 64, VIRTQ_DESC_F_WRITE, 0);
	td_post(d, 0, nth % 16);
	td_kick(d, 0);
	return td_wait_used(d, 0, (uint16_t)(nth + 1), 5000);
}

TEST(io_hub_runs_light_devices_itself_and_starts_own_threads_at_first_kick)
{
	struct td a, b, c;
	struct rec *light = open_dev(&a, &light_ops);
	struct rec *own = open_dev(&b, &own_ops);
	struct rec *idle = open_dev(&c, &own_ops);   /* never kicked */
	EXPECT(light && own && idle);
	int before = threads();
	struct io_hub *hub;
	struct err e;
	struct virtio_mmio *t[] = { a.t, b.t, c.t };
	EXPECT_EQ(io_hub_start(t, 3, &hub, &e), 0);
	EXPECT_EQ(threads(), before + 1);   /* the hub only */

	EXPECT_EQ(request(&a, 0), 0);
	EXPECT_EQ(request(&a, 1), 0);
	pid_t hub_tid = atomic_load(&light->ran_on);
	EXPECT(hub_tid != 0 && hub_tid != gettid());
	EXPECT_EQ(threads(), before + 1);   /* served on the hub */

	EXPECT_EQ(request(&b, 0), 0);
	pid_t own_tid = atomic_load(&own->ran_on);
	EXPECT(own_tid != 0 && own_tid != hub_tid && own_tid != gettid());
	EXPECT_EQ(threads(), before + 2);   /* the kicked device's own thread */
	EXPECT_EQ(request(&b, 1), 0);
	EXPECT_EQ(atomic_load(&own->ran_on), own_tid);   /* and it stays there */
	EXPECT_EQ(request(&a, 2), 0);
	EXPECT_EQ(atomic_load(&light->ran_on), hub_tid);
	EXPECT_EQ(atomic_load(&idle->ran_on), 0);

	io_hub_stop(hub);
	EXPECT_EQ(threads_settle(before + 1), before + 1);   /* the own thread runs until its transport goes */
	td_close(&a);
	td_close(&b);
	td_close(&c);
	EXPECT_EQ(threads_settle(before), before);
}

TEST(io_hub_runs_work_queued_before_it_started)
{
	/* A restored VM's devices may have kicks counted before the hub runs. */
	struct td a;
	struct rec *light = open_dev(&a, &light_ops);
	EXPECT(light != NULL);
	td_desc(&a, 0, 0, TD_DATA, 64, VIRTQ_DESC_F_WRITE, 0);
	td_post(&a, 0, 0);
	td_kick(&a, 0);
	EXPECT_EQ(td_used_idx(&a, 0), 0);
	struct io_hub *hub;
	struct err e;
	EXPECT_EQ(io_hub_start(&a.t, 1, &hub, &e), 0);
	EXPECT_EQ(td_wait_used(&a, 0, 1, 5000), 0);
	io_hub_stop(hub);
	td_close(&a);
}

TEST(io_hub_refuses_no_devices)
{
	struct io_hub *hub = (struct io_hub *)1;
	struct err e;
	EXPECT(io_hub_start(NULL, 0, &hub, &e) < 0);
	EXPECT(hub == NULL);
	io_hub_stop(NULL);
}
