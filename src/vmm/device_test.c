/* The device list: reverse-order reset/quiesce/destroy, creation-order resume. */
#include "vmm/device.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

struct rec {
	char log[64];
};

struct toy {
	struct rec *r;
	char id;
};

static void note(struct toy *t, char what)
{
	size_t n = strlen(t->r->log);
	t->r->log[n] = what;
	t->r->log[n + 1] = t->id;
}

static void t_reset(void *o) { note(o, 'r'); }
static void t_quiesce(void *o) { note(o, 'q'); }
static void t_resume(void *o) { note(o, 'u'); }
static void t_destroy(void *o) { note(o, 'd'); }

static const struct device_ops toy_ops = {
	.name = "toy", .reset = t_reset, .save = device_no_save, .load = device_no_load,
	.quiesce = t_quiesce, .resume = t_resume, .destroy = t_destroy,
};
static const struct device_ops bare_ops = { .name = "bare" };

TEST(device_list_iterates_controllers_last_and_resumes_in_order)
{
	struct rec r = {0};
	struct toy a = { &r, 'a' }, b = { &r, 'b' };
	struct device_list l = {0};
	EXPECT_EQ(device_list_add(&l, &toy_ops, &a, NULL), 0);
	EXPECT_EQ(device_list_add(&l, &bare_ops, NULL, "bare@1"), 0);
	EXPECT_EQ(device_list_add(&l, &toy_ops, &b, NULL), 0);
	EXPECT(!strcmp(l.dev[1].name, "bare@1") && !strcmp(l.dev[0].name, "toy"));
	device_list_reset(&l);
	device_list_quiesce(&l);
	device_list_quiesce(&l);   /* idempotent */
	device_list_resume(&l);
	device_list_resume(&l);
	device_list_destroy(&l);
	EXPECT(!strcmp(r.log, "rbraqbqauaubdbda"));
	EXPECT_EQ(l.n, 0u);
}

TEST(device_list_full_is_refused_and_stubs_say_enotsup)
{
	struct device_list l = {0};
	for (unsigned i = 0; i < DEVICE_LIST_MAX; i++)
		EXPECT_EQ(device_list_add(&l, &bare_ops, NULL, NULL), 0);
	EXPECT_EQ(device_list_add(&l, &bare_ops, NULL, NULL), -ENOSPC);
	EXPECT_EQ(device_no_save(NULL, NULL), -ENOTSUP);
	EXPECT_EQ(device_no_load(NULL, NULL), -ENOTSUP);
}
