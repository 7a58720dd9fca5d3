/*
 * libFuzzer target: the control protocol's request parser and dispatcher,
 * vm_control_handle(), fed arbitrary bytes as one request line.  Every input
 * must produce exactly one reply that is itself valid JSON with "ok" (a
 * malformed request is an error reply, never a crash or a hang).
 *
 * Byte 0 picks the VM: even, none (vm = NULL: the envelope's checks, then
 * "not-running"); odd, a stand-in whose API functions below refuse every
 * action as a stopped VM would (-ESRCH) after the verb has parsed and
 * checked its arguments, so those checks are fuzzed too.  The stand-in is
 * never dereferenced: control.c reaches a VM only through vm.h.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "vmm/control.h"
#include "vmm/virtio/balloon.h"
#include "vmm/vm.h"
#include "vmm/vm_migrate.h"

static char stand_in;   /* its address is the VM; never read */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct vm *vm = (data[0] & 1) ? (struct vm *)(void *)&stand_in : NULL;
	char *r = vm_control_handle(vm, (const char *)data + 1, size - 1);
	if (!r)
		abort();
	cJSON *o = cJSON_Parse(r);
	if (!o || !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(o, "ok")) || strchr(r, '\n'))
		abort();
	cJSON_Delete(o);
	free(r);
	return 0;
}

static int stopped(struct err *e)
{
	return err_set(e, -ESRCH, "the VM is not running");
}

/* The stand-in VM: stopped, with nothing attached.  Every action is refused
 * as a stopped VM refuses it; queries answer with an empty VM. */
void vm_query(struct vm *vm, struct vm_status *out)
{
	(void)vm;
	memset(out, 0, sizeof *out);
}
int vm_pause(struct vm *vm, struct err *e) { (void)vm; return stopped(e); }
int vm_resume(struct vm *vm, bool c, struct err *e) { (void)vm; (void)c; return stopped(e); }
void vm_request_stop(struct vm *vm) { (void)vm; }
int vm_shutdown(struct vm *vm, unsigned t, struct err *e) { (void)vm; (void)t; return stopped(e); }
int vm_reboot(struct vm *vm, struct err *e) { (void)vm; return stopped(e); }
int vm_balloon_set(struct vm *vm, uint64_t b, struct err *e) { (void)vm; (void)b; return stopped(e); }
int vm_rate_limit_set(struct vm *vm, const char *d, const struct rate_limit *l, struct err *e)
{
	(void)vm; (void)d; (void)l;
	return stopped(e);
}
int vm_rate_limit_get(struct vm *vm, const char *d, struct rate_limit *l, struct err *e)
{
	(void)vm; (void)d; (void)l;
	return stopped(e);
}
int vm_balloon_stats(struct vm *vm, struct balloon_stats *o, int w, bool *s, struct err *e)
{
	(void)vm; (void)o; (void)w; (void)s;
	return stopped(e);
}
int vm_snapshot(struct vm *vm, const char *d, bool p, struct vm_snapshot_info *i, struct err *e)
{
	(void)vm; (void)d; (void)p; (void)i;
	return stopped(e);
}
int vm_snapshot_incremental(struct vm *vm, const char *d, bool p, struct vm_snapshot_info *i,
			    struct err *e)
{
	(void)vm; (void)d; (void)p; (void)i;
	return stopped(e);
}
int vm_fork_snapshot(struct vm *vm, const char *d, int m, int s, struct err *e)
{
	(void)vm; (void)d; (void)m; (void)s;
	return stopped(e);
}
int vm_snapshot_take(struct vm *vm, const char *d, const struct vm_snapshot_opts *o,
		     struct vm_snapshot_info *i, struct err *e)
{
	(void)vm; (void)d; (void)o; (void)i;
	return stopped(e);
}
int vm_fork(struct vm *vm, const char *d, unsigned n, bool r, struct vm_fork_child *o,
	    unsigned *s, struct vm_snapshot_info *i, struct err *e)
{
	(void)vm; (void)d; (void)n; (void)r; (void)o; (void)s; (void)i;
	return stopped(e);
}
int vm_migrate_uri_check(const char *u, struct err *e)
{
	(void)u;
	(void)e;
	return 0;
}
int vm_migrate(struct vm *vm, const char *u, const struct vm_migrate_opts *o,
	       struct vm_migrate_info *i, struct err *e)
{
	(void)vm; (void)u; (void)o; (void)i;
	return stopped(e);
}
bool vm_shutdown_via_agent(struct vm *vm) { (void)vm; return false; }
bool vm_sandboxed(const struct vm *vm) { (void)vm; return false; }
struct guest_agent *vm_agent(struct vm *vm) { (void)vm; return NULL; }
int vm_exec(struct vm *vm, const struct guest_agent_exec *q, struct guest_agent_result *r,
	    struct err *e)
{
	(void)vm; (void)q; (void)r;
	return stopped(e);
}
int vm_exec_input(struct vm *vm, uint64_t id, const void *d, size_t n, bool eof, struct err *e)
{
	(void)vm; (void)id; (void)d; (void)n; (void)eof;
	return stopped(e);
}
int vm_exec_resize(struct vm *vm, uint64_t id, unsigned r, unsigned c, struct err *e)
{
	(void)vm; (void)id; (void)r; (void)c;
	return stopped(e);
}
const char *vm_state_name(enum vm_state s) { (void)s; return "stopped"; }
const char *vm_exit_kind_name(enum vm_exit_kind k) { (void)k; return "stopped"; }
const char *vm_event_name(enum vm_event_kind k) { (void)k; return "stopped"; }
int vm_disk_insert(struct vm *vm, int fd, const char *s, unsigned *n, struct err *e)
{
	(void)vm; (void)fd; (void)s; (void)n;
	return stopped(e);
}
int vm_disk_eject(struct vm *vm, const char *s, unsigned *n, struct err *e)
{
	(void)vm; (void)s; (void)n;
	return stopped(e);
}
struct virtio_device *vm_disk_slot(struct vm *vm, unsigned i) { (void)vm; (void)i; return NULL; }
struct virtio_device *vm_nic_slot(struct vm *vm, unsigned i) { (void)vm; (void)i; return NULL; }
int vm_nic_insert(struct vm *vm, int fd, const char *n, unsigned *s, uint8_t m[6], struct err *e)
{
	(void)vm; (void)fd; (void)n; (void)s; (void)m;
	return stopped(e);
}
int vm_nic_eject(struct vm *vm, const uint8_t m[6], unsigned *s, struct err *e)
{
	(void)vm; (void)m; (void)s;
	return stopped(e);
}
/* Only the control socket's connections listen; this target has none. */
int vm_add_listener(struct vm *vm, vm_listener_fn *fn, void *ctx) { (void)vm; (void)fn; (void)ctx; abort(); }
void vm_remove_listener(struct vm *vm, int id) { (void)vm; (void)id; abort(); }
