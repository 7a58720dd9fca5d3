/* See mem_pressure.h. */
#include "daemon/mem_pressure.h"
#include "daemon/cpu_time.h"
#include "daemon/meter.h"
#include "daemon/placement.h"
#include "daemon/driver.h"
#include "daemon/events.h"
#include "daemon/host_load.h"
#include "daemon/service.h"
#include "daemon/vmm_balloon.h"
#include "lib/size.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>

/* A VM as the last round saw it, to tell how busy it was since. */
struct seen {
	char key[INSTANCE_NAME_MAX + 1];   /* the host key (instance.h) */
	long long pid_start;
	long long instret, uptime_ms;
	long long cpu_ms, at_ms;           /* its processes' CPU time, and when (monotonic) */
};

struct mem_pressure {
	struct service *svc;
	const struct driver_ctx *ctx;
	struct balloon_limits limits;
	int interval_ms;
	long long idle_ips;
	double psi_stall;            /* 0: off */
	pthread_t thread;
	pthread_mutex_t lock;        /* guards stop and view */
	pthread_cond_t wake;
	bool stop;
	struct mem_pressure_view view;
	struct seen *seen;           /* the thread's own */
	size_t nseen;
};

long long mem_host_available(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (!f)
		return -1;
	char line[256];
	long long kib = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %lld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib * 1024;
}

static const struct seen *seen_find(const struct mem_pressure *p, const struct instance *in)
{
	for (size_t i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i].key, in->key) && p->seen[i].pid_start == in->pid_start)
			return &p->seen[i];
	return NULL;
}

/* Idle since the last round: few instructions per vCPU per second. */
static bool is_idle(const struct mem_pressure *p, const struct instance *in,
		    const struct vmm_balloon_sample *now)
{
	const struct seen *was = seen_find(p, in);
	if (!was || now->paused || now->uptime_ms <= was->uptime_ms || now->instret < was->instret)
		return false;
	double secs = (double)(now->uptime_ms - was->uptime_ms) / 1000.0;
	double ips = (double)(now->instret - was->instret) / secs / (now->vcpus > 0 ? now->vcpus : 1);
	return ips < (double)p->idle_ips;
}

static long long mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The CPUs' worth in (its process tree's CPU time) since the last round,
 * into *use; false for a VM seen for the first time. */
static bool cpu_since(const struct mem_pressure *p, const struct instance *in,
		      const struct seen *now, double *use)
{
	const struct seen *was = seen_find(p, in);
	if (!was || now->cpu_ms < 0 || was->cpu_ms < 0 || now->at_ms <= was->at_ms ||
	    now->cpu_ms < was->cpu_ms)
		return false;
	*use = (double)(now->cpu_ms - was->cpu_ms) / (double)(now->at_ms - was->at_ms);
	return true;
}

static void round_once(struct mem_pressure *p)
{
	/* Metering's measured CPU time rides on this loop's period (meter.h). */
	struct db *db = service_lock(p->svc);
	meter_sample_cpu(db, NULL);
	service_unlock(p->svc);
	struct instance *all = NULL;
	size_t n = 0;
	if (service_list(p->svc, &all, &n, NULL) < 0)
		return;
	struct instance *vm = calloc(n ? n : 1, sizeof *vm);
	struct balloon_vm *bv = calloc(n ? n : 1, sizeof *bv);
	long long *next = calloc(n ? n : 1, sizeof *next);
	struct seen *seen = calloc(n ? n : 1, sizeof *seen);
	size_t m = 0;
	int idle = 0;
	struct vm_cpu_measure cpu = { 0 };
	for (size_t i = 0; vm && bv && next && seen && i < n; i++) {
		/* The VMM knows the instance by its host key (instance.h). */
		struct instance hv = all[i];
		memcpy(hv.name, hv.key, sizeof hv.name);
		struct vmm_balloon_sample smp;
		if (all[i].kind != KIND_VM || all[i].state != STATE_RUNNING ||
		    vmm_balloon_sample(p->ctx, &hv, &smp, NULL) < 0)
			continue;
		bool quiet = is_idle(p, &all[i], &smp);
		idle += quiet;
		vm[m] = all[i];
		bv[m] = (struct balloon_vm){ smp.ram, smp.target, smp.actual, smp.guest_avail, quiet };
		seen[m] = (struct seen){ .pid_start = all[i].pid_start, .instret = smp.instret,
					 .uptime_ms = smp.uptime_ms,
					 .cpu_ms = cpu_time_tree_ms((pid_t)all[i].pid),
					 .at_ms = mono_ms() };
		snprintf(seen[m].key, sizeof seen[m].key, "%s", all[i].key);
		double use;
		if (cpu_since(p, &all[i], &seen[m], &use)) {
			cpu.cpus += use;
			cpu.vms++;
			cpu.window_s = (double)p->interval_ms / 1000.0;
		}
		m++;
	}
	/* Valid once every running VM was seen twice; none running uses none. */
	cpu.valid = cpu.vms == (int)m;
	service_vm_cpu_set(p->svc, &cpu);
	long long avail = mem_host_available(), unmet = 0, ballooned = 0;
	/* Where the kernel has PSI, tasks stalling on memory make the host
	 * short whatever MemAvailable says (balloon_policy.h). */
	struct host_load hl;
	double some10 = host_load_read(&hl, NULL) == 0 && hl.has_psi
		? hl.psi[PSI_MEMORY].some_avg10 : -1;
	long long judged = avail >= 0
		? balloon_effective_avail(&p->limits, avail, some10, p->psi_stall) : avail;
	enum balloon_verdict v = BALLOON_HOLD;
	if (judged >= 0 && m > 0)
		v = balloon_plan(&p->limits, judged, bv, m, next, &unmet);
	for (size_t i = 0; i < m; i++) {
		long long to = v == BALLOON_HOLD ? bv[i].target : next[i];
		ballooned += to;
		if (to == bv[i].target)
			continue;
		struct err e = { 0 };
		char a[32], b[32], c[32];
		format_size((uint64_t)to, a, sizeof a);
		format_size((uint64_t)avail, b, sizeof b);
		format_size((uint64_t)(v == BALLOON_INFLATE ? p->limits.low : p->limits.high), c,
			    sizeof c);
		struct instance hv = vm[i];
		memcpy(hv.name, hv.key, sizeof hv.name);
		if (vmm_balloon_set(p->ctx, &hv, to, &e) < 0) {
			fprintf(stderr, "nimbus daemon: balloon of %s: %s\n", vm[i].name, e.msg);
			ballooned += bv[i].target - to;
			continue;
		}
		fprintf(stderr, "nimbus daemon: %s balloon %s (host MemAvailable %s, %s %s)\n",
			vm[i].name, a, b, v == BALLOON_INFLATE ? "below" : "above", c);
		events_publish_in(service_events(p->svc), vm[i].project, "instance-balloon",
				  vm[i].name, "balloon %s: host MemAvailable %s %s %s", a, b,
				  v == BALLOON_INFLATE ? "below" : "above", c);
	}
	free(p->seen);
	p->seen = seen;
	p->nseen = seen ? m : 0;
	pthread_mutex_lock(&p->lock);
	p->view.host_avail = avail;
	p->view.verdict = v;
	p->view.ballooned = ballooned;
	p->view.unmet = unmet;
	p->view.vms = (int)m;
	p->view.psi_some10 = some10;
	p->view.psi_stall = p->psi_stall;
	p->view.idle = idle;
	p->view.rounds++;
	pthread_mutex_unlock(&p->lock);
	free(all);
	free(vm);
	free(bv);
	free(next);
}

static void *run(void *arg)
{
	struct mem_pressure *p = arg;
	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		pthread_mutex_unlock(&p->lock);
		round_once(p);
		pthread_mutex_lock(&p->lock);
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += p->interval_ms / 1000;
		until.tv_nsec += (long)(p->interval_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int mem_pressure_start(struct service *s, const struct driver_ctx *ctx,
		       const struct mem_pressure_cfg *cfg, struct mem_pressure **out,
		       struct err *e)
{
	struct sysinfo si;
	long long total = sysinfo(&si) == 0 ? (long long)si.totalram * si.mem_unit : 0;
	long long low = cfg->low > 0 ? cfg->low : total / 20;
	if (cfg->low <= 0 && low < (256LL << 20))
		low = 256LL << 20;
	long long high = cfg->high > 0 ? cfg->high : 2 * low;
	if (high <= low)
		return err_set(e, -EINVAL, "memory pressure: the high watermark (%lld bytes) must be "
			       "above the low one (%lld bytes)", high, low);
	struct mem_pressure *p = calloc(1, sizeof *p);
	if (!p)
		return err_set(e, -ENOMEM, "memory pressure: out of memory");
	p->svc = s;
	p->ctx = ctx;
	p->limits = (struct balloon_limits){ low, high, MEM_PRESSURE_KEEP, MEM_PRESSURE_FLOOR };
	p->interval_ms = cfg->interval_ms > 0 ? cfg->interval_ms : MEM_PRESSURE_INTERVAL_MS;
	p->idle_ips = cfg->idle_ips > 0 ? cfg->idle_ips : MEM_PRESSURE_IDLE_IPS;
	p->psi_stall = cfg->psi_stall < 0 ? 0 : cfg->psi_stall > 0 ? cfg->psi_stall
							       : MEM_PRESSURE_PSI_STALL;
	p->view = (struct mem_pressure_view){ .host_avail = -1, .low = low, .high = high,
					      .psi_some10 = -1, .psi_stall = p->psi_stall };
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&p->thread, NULL, run, p);
	if (rc != 0) {
		pthread_cond_destroy(&p->wake);
		pthread_mutex_destroy(&p->lock);
		free(p);
		return err_set(e, -rc, "memory pressure: cannot start its thread");
	}
	*out = p;
	return 0;
}

void mem_pressure_stop(struct mem_pressure *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	free(p->seen);
	free(p);
}

void mem_pressure_get(struct mem_pressure *p, struct mem_pressure_view *out)
{
	pthread_mutex_lock(&p->lock);
	*out = p->view;
	pthread_mutex_unlock(&p->lock);
}
