/* See vm_args.h. */
#include "vmm/vm_args.h"

#include <errno.h>
#include <string.h>

#define VIRTIO_BLK_ID_BYTES 20   /* virtio 1.2, 5.2.6: GET_ID returns at most 20 bytes */

int vm_disk_parse(char *spec, struct vm_disk *out, struct err *err)
{
	memset(out, 0, sizeof(*out));
	char *save = NULL;
	char *path = strtok_r(spec, ",", &save);
	if (!path || !*path || spec[0] == ',')
		return err_set(err, -EINVAL, "--disk: missing the image path (--disk PATH[,ro][,format=raw|qcow2])");
	out->path = path;
	for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
		if (!strcmp(opt, "ro") || !strcmp(opt, "readonly")) {
			out->readonly = true;
		} else if (!strncmp(opt, "format=", 7)) {
			if (strcmp(opt + 7, "raw") && strcmp(opt + 7, "qcow2"))
				return err_set(err, -EINVAL, "--disk %s: %s: format must be raw or qcow2",
					       path, opt);
			out->format = opt + 7;
		} else if (!strncmp(opt, "serial=", 7)) {
			if (strlen(opt + 7) > VIRTIO_BLK_ID_BYTES)
				return err_set(err, -EINVAL, "--disk %s: %s: at most %d characters",
					       path, opt, VIRTIO_BLK_ID_BYTES);
			out->serial = opt + 7;
		} else {
			return err_set(err, -EINVAL, "--disk %s: unknown option '%s' "
				       "(known: ro, format=raw|qcow2, serial=ID)", path, opt);
		}
	}
	return 0;
}

int vm_append_check(const char *append, struct err *err)
{
	size_t n = append ? strlen(append) : 0;
	if (n > VM_APPEND_MAX)
		return err_set(err, -E2BIG, "--append: %zu bytes: longer than the riscv64 kernel's "
			       "command-line limit of %d bytes (it would cut the rest silently)",
			       n, VM_APPEND_MAX);
	return 0;
}
