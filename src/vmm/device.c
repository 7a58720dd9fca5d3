/* See device.h. */
#include "vmm/device.h"

#include <errno.h>
#include <stdio.h>

#include "vmm/snap_stream.h"

int device_list_add(struct device_list *l, const struct device_ops *ops, void *obj,
		    const char *label)
{
	if (l->n >= DEVICE_LIST_MAX)
		return -ENOSPC;
	struct device *d = &l->dev[l->n++];
	d->ops = ops;
	d->obj = obj;
	snprintf(d->name, sizeof d->name, "%s", label ? label : ops->name);
	return 0;
}

void device_list_reset(struct device_list *l)
{
	for (unsigned i = l->n; i-- > 0;)
		if (l->dev[i].ops->reset)
			l->dev[i].ops->reset(l->dev[i].obj);
}

void device_list_quiesce(struct device_list *l)
{
	if (l->quiesced)
		return;
	for (unsigned i = l->n; i-- > 0;)
		if (l->dev[i].ops->quiesce)
			l->dev[i].ops->quiesce(l->dev[i].obj);
	l->quiesced = true;
}

void device_list_resume(struct device_list *l)
{
	if (!l->quiesced)
		return;
	for (unsigned i = 0; i < l->n; i++)
		if (l->dev[i].ops->resume)
			l->dev[i].ops->resume(l->dev[i].obj);
	l->quiesced = false;
}

void device_list_destroy(struct device_list *l)
{
	for (unsigned i = l->n; i-- > 0;)
		if (l->dev[i].ops->destroy)
			l->dev[i].ops->destroy(l->dev[i].obj);
	l->n = 0;
	l->quiesced = false;
}

int device_no_save(void *dev, struct snap_out *out)
{
	(void)dev;
	(void)out;
	return -ENOTSUP;
}

int device_no_load(void *dev, struct snap_in *in)
{
	(void)dev;
	(void)in;
	return -ENOTSUP;
}

int device_stateless_save(void *dev, struct snap_out *out)
{
	(void)dev;
	snap_put_u32(out, 1);
	return 0;
}

int device_stateless_load(void *dev, struct snap_in *in)
{
	(void)dev;
	return snap_get_u32(in) == 1 ? 0 : -EINVAL;
}
