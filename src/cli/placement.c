/*
 * `nimbus placement [--format table|json]`: whether this host takes another
 * VM (GET /1.0/placement, host admin): each resource's capacity, overcommit
 * ratio, what may be allocated and what is; the measured load (load average,
 * PSI where the kernel has it) with its limits, and the reason a VM launch
 * would be refused now, if it would.  docs/cloud.md, "Placement".
 */
#include "cli/cli.h"
#include "lib/size.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const char usage[] =
	"Usage: nimbus placement [--format table|json]\n"
	"\n"
	"The host's room for VMs: CPUs, memory and disk with their overcommit ratios\n"
	"(nimbusd --cpu-ratio, --ram-ratio, --disk-ratio), what is allocated, and the\n"
	"measured load that refuses a VM launch above its limits (nimbusd\n"
	"--cpu-load-max, --psi-cpu-max, --psi-memory-max).  Host admin only.\n"
	"\n"
	"Options:\n"
	"  --format FMT     table (default) or json\n"
	"  --socket PATH    the daemon's socket (default $NIMBUS_SOCKET)\n"
	"  -h, --help       show this help\n";

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void resource_line(const cJSON *r, const char *name, bool size)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(r, name);
	char t[32], a[32], u[32];
	if (size) {
		format_size((uint64_t)num(o, "total"), t, sizeof t);
		format_size((uint64_t)num(o, "allocatable"), a, sizeof a);
		format_size((uint64_t)num(o, "allocated"), u, sizeof u);
	} else {
		snprintf(t, sizeof t, "%.0f", num(o, "total"));
		snprintf(a, sizeof a, "%.0f", num(o, "allocatable"));
		snprintf(u, sizeof u, "%.0f", num(o, "allocated"));
	}
	printf("%-8s %12s %7g %12s %12s\n", name, t, num(o, "ratio"), a, u);
}

int cmd_placement(int argc, char **argv)
{
	const char *sock;
	bool json;
	int rc = cli_socket_format("placement", usage, argc, argv, &sock, &json);
	if (rc >= 0)
		return rc;
	if (optind < argc) {
		cli_error("placement: unexpected argument %s (try --help)", argv[optind]);
		return 2;
	}
	cJSON *r = NULL;
	rc = cli_call("placement", sock, "GET", "/1.0/placement", NULL, &r);
	if (rc)
		return rc;
	if (json) {
		char *s = cJSON_Print(r);
		printf("%s\n", s ? s : "{}");
		cJSON_free(s);
		cJSON_Delete(r);
		return 0;
	}
	printf("%-8s %12s %7s %12s %12s\n", "RESOURCE", "TOTAL", "RATIO", "ALLOCATABLE",
	       "ALLOCATED");
	resource_line(r, "cpus", false);
	resource_line(r, "memory", true);
	resource_line(r, "disk", true);
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(r, "load");
	if (l) {
		char lim[32] = "off";
		if (num(l, "cpu_load_max") > 0)
			snprintf(lim, sizeof lim, "%g", num(l, "cpu_load_max"));
		printf("\nload average %.2f on %.0f CPUs (--cpu-load-max per CPU: %s)\n",
		       num(l, "loadavg1"), num(l, "cpus"), lim);
		const cJSON *psi = cJSON_GetObjectItemCaseSensitive(l, "psi");
		if (cJSON_IsObject(psi)) {
			const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(psi, "cpu");
			const cJSON *mem = cJSON_GetObjectItemCaseSensitive(psi, "memory");
			printf("pressure (avg60): cpu some %.1f%%, memory full %.1f%%\n",
			       num(cpu, "some_avg60"), num(mem, "full_avg60"));
		} else {
			printf("pressure: this kernel has no PSI (/proc/pressure)\n");
		}
		const cJSON *vc = cJSON_GetObjectItemCaseSensitive(l, "vm_cpu");
		char vlim[32] = "off";
		if (num(l, "vm_cpu_max") > 0)
			snprintf(vlim, sizeof vlim, "%g", num(l, "vm_cpu_max"));
		if (cJSON_IsObject(vc))
			printf("running VMs (%.0f) used %.2f CPUs over the last %.1f s (--vm-cpu-max: %s)\n",
			       num(vc, "vms"), num(vc, "cpus"), num(vc, "window_s"), vlim);
		else
			printf("running VMs' CPU use: not measured yet (--vm-cpu-max: %s)\n", vlim);
		const cJSON *why = cJSON_GetObjectItemCaseSensitive(l, "refusing");
		printf("%s\n", cJSON_IsString(why) ? why->valuestring : "a VM launch that fits is admitted");
	}
	cJSON_Delete(r);
	return 0;
}
