/*
 * The device type: what the VM does with every device of its board, as one
 * ops table, and the VM's list of devices.  The board adds each device to the
 * list as it creates it; reset, quiesce, resume, destroy (and, to come,
 * snapshot save and load) then iterate the list instead of naming devices.
 *
 * Order: devices are added in creation order, interrupt controllers first
 * (their sources need their lines).  Reset, quiesce and destroy run in
 * reverse order, so a controller resets after every source dropped its line
 * and is destroyed after every device that could still raise one; resume
 * runs in creation order.
 *
 * quiesce: the device finishes the request in flight (an I/O thread's
 * current batch), then neither touches guest memory nor raises an interrupt
 * until resume; work that arrives meanwhile (a queue notify, a received
 * frame) is held, not dropped, and runs on resume.  A device with nothing
 * asynchronous leaves quiesce NULL: with the vCPUs parked it is already still.
 *
 * save/load write and read the payload of the device's section of the
 * snapshot (snap_stream.h; the VM opens the section, named after the
 * device's list name); the payload starts with the device's own u32 layout
 * version.  They run with the VM paused and quiesced.  load returns
 * -EINVAL for a payload it cannot take (the VM names the device).  A device
 * with no state uses device_stateless_save/load; one that cannot be saved
 * answers -ENOTSUP through device_no_save/no_load.
 */
#ifndef NIMBUS_VMM_DEVICE_H
#define NIMBUS_VMM_DEVICE_H

#include <stdbool.h>

struct snap_out;
struct snap_in;

struct device_ops {
	const char *name;                 /* "plic", "uart16550", "virtio-blk", ... */
	void (*reset)(void *dev);         /* to power-on state; may be NULL */
	int (*save)(void *dev, struct snap_out *out);
	int (*load)(void *dev, struct snap_in *in);
	void (*quiesce)(void *dev);       /* may be NULL: see above */
	void (*resume)(void *dev);        /* undoes quiesce; NULL iff quiesce is */
	void (*destroy)(void *dev);       /* frees what init/create took; may be NULL */
};

#define DEVICE_LIST_MAX 32

struct device {
	const struct device_ops *ops;
	void *obj;
	char name[48];                    /* ops->name, or a label naming the instance */
};

struct device_list {
	struct device dev[DEVICE_LIST_MAX];
	unsigned n;
	bool quiesced;
};

/* Adds obj (label may be NULL: ops->name).  0, or -ENOSPC when full (the
 * caller still owns obj then). */
int device_list_add(struct device_list *l, const struct device_ops *ops, void *obj,
		    const char *label);
void device_list_reset(struct device_list *l);
/* Idempotent: a second quiesce (or a resume without one) does nothing. */
void device_list_quiesce(struct device_list *l);
void device_list_resume(struct device_list *l);
/* Destroys every device (reverse order) and empties the list. */
void device_list_destroy(struct device_list *l);

int device_no_save(void *dev, struct snap_out *out);
int device_stateless_save(void *dev, struct snap_out *out);
int device_stateless_load(void *dev, struct snap_in *in);
int device_no_load(void *dev, struct snap_in *in);

#endif
