/*
 * `nimbus daemon` (also run as `nimbusd`): the management daemon in the
 * foreground.  See src/daemon/daemon.h and docs/daemon.md.
 */
#include "cli/cli.h"
#include "daemon/client.h"
#include "daemon/daemon.h"
#include "daemon/http.h"
#include "lib/size.h"
#include "vmm/vm_cgroup.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"Usage: nimbus daemon [OPTIONS]    (or: nimbusd [OPTIONS])\n"
	"\n"
	"Run the management daemon in the foreground: it owns this host's VMs and\n"
	"containers and serves the REST API (GET /1.0/openapi.json) on a Unix socket.\n"
	"Instances keep running when it stops; the next daemon re-adopts them.\n"
	"\n"
	"Options:\n"
	"  --socket PATH     the API socket, mode 0600 (default " NIMBUS_SOCKET_DEFAULT ")\n"
	"  --state-dir DIR   the database, images and instances (default " NIMBUS_STATE_DIR_DEFAULT ")\n"
	"  --runtime PATH    the OCI runtime (default: nimbus-runtime beside this binary)\n"
	"  --conmon PATH     the container monitor (default /usr/bin/conmon)\n"
	"  --listen ADDR:PORT  also serve HTTPS there (e.g. 127.0.0.1:8443, [::1]:8443,\n"
	"                    :8443 for all addresses); every request needs a bearer token\n"
	"                    (`nimbus token create`); the certificate is STATE/tls/server.crt,\n"
	"                    self-signed on first start\n"
	"  --cpu-ratio R     overcommit of the host's CPUs for launches (default 16.0)\n"
	"  --ram-ratio R     overcommit of its memory (default 1.5)\n"
	"  --disk-ratio R    overcommit of the storage pool's filesystem (default 1.0)\n"
	"  --cpu-load-max L  refuse VM launches while the 1-minute load average per\n"
	"                    online CPU is above L (default 0: off)\n"
	"  --vm-cpu-max F    ... while the running VMs' own processes used more than F\n"
	"                    (0 to 1) of the online CPUs over the last few seconds,\n"
	"                    measured (default 0: off); the host's other work does\n"
	"                    not count\n"
	"  --psi-cpu-max P   ... while tasks waited for a CPU more than P% of the last\n"
	"                    minute (PSI cpu some avg60; default 0: off)\n"
	"  --psi-memory-max P  ... while every task stalled on memory more than P% of\n"
	"                    the last minute (PSI memory full avg60; default 20, 0: off);\n"
	"                    PSI limits apply where the kernel has /proc/pressure\n"
	"  --mem-low SIZE    host MemAvailable below which idle VMs' balloons inflate\n"
	"                    (default 5% of RAM, at least 256M)\n"
	"  --mem-high SIZE   above which they deflate again (default twice --mem-low)\n"
	"  --mem-psi P       and inflate them too while tasks stalled on memory P% of\n"
	"                    the last 10 s (PSI memory some avg10; default 10, 0: off)\n"
	"  --mem-merge       start every VM with `vm run --mem-merge`: guest RAM offered\n"
	"                    to the kernel's same-page merging (KSM), so identical pages\n"
	"                    of many guests are kept once (needs /sys/kernel/mm/ksm/run\n"
	"                    = 1; no huge pages then); VMs running keep how they started\n"
	"  --vm-cgroup-parent PATH|none\n"
	"                    every VM runs in a cgroup of its own below PATH (default\n"
	"                    " VM_CGROUP_PARENT "), made at start, from each hierarchy's\n"
	"                    root; its weight is what all VMs together get against the\n"
	"                    host's other work; none: VMs run in the daemon's groups\n"
	"  --vm-cgroup-weight N  that parent's CPU and I/O weight, 1 to 10000 (default\n"
	"                    1000 when the daemon makes it, ten times a task's; given,\n"
	"                    it is written to an existing parent too)\n"
	"  --price NAME=VALUE  the price list for `nimbus usage --bill` (repeatable): what a\n"
	"                    vcpu-hour, memory-gib-hour, disk-gib-hour and network-gib\n"
	"                    (sent) cost, and\n"
	"                    currency=XYZ (ISO 4217); without one, usage carries no bill\n"
	"  -h, --help        show this help\n";

int cmd_daemon(int argc, char **argv)
{
	enum { OPT_SOCKET = 256, OPT_STATE, OPT_RUNTIME, OPT_CONMON, OPT_LISTEN, OPT_CPU_RATIO,
	       OPT_RAM_RATIO, OPT_DISK_RATIO, OPT_PRICE, OPT_MEM_LOW, OPT_MEM_HIGH, OPT_CPU_LOAD,
	       OPT_PSI_CPU, OPT_PSI_MEMORY, OPT_MEM_PSI, OPT_VM_CPU, OPT_MEM_MERGE,
	       OPT_VM_CGROUP_PARENT, OPT_VM_CGROUP_WEIGHT };
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "runtime", required_argument, NULL, OPT_RUNTIME },
		{ "conmon", required_argument, NULL, OPT_CONMON },
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "cpu-ratio", required_argument, NULL, OPT_CPU_RATIO },
		{ "ram-ratio", required_argument, NULL, OPT_RAM_RATIO },
		{ "disk-ratio", required_argument, NULL, OPT_DISK_RATIO },
		{ "price", required_argument, NULL, OPT_PRICE },
		{ "mem-low", required_argument, NULL, OPT_MEM_LOW },
		{ "mem-high", required_argument, NULL, OPT_MEM_HIGH },
		{ "cpu-load-max", required_argument, NULL, OPT_CPU_LOAD },
		{ "psi-cpu-max", required_argument, NULL, OPT_PSI_CPU },
		{ "psi-memory-max", required_argument, NULL, OPT_PSI_MEMORY },
		{ "mem-psi", required_argument, NULL, OPT_MEM_PSI },
		{ "vm-cpu-max", required_argument, NULL, OPT_VM_CPU },
		{ "mem-merge", no_argument, NULL, OPT_MEM_MERGE },
		{ "vm-cgroup-parent", required_argument, NULL, OPT_VM_CGROUP_PARENT },
		{ "vm-cgroup-weight", required_argument, NULL, OPT_VM_CGROUP_WEIGHT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static char self[PATH_MAX], runtime[PATH_MAX + 32], guest[PATH_MAX], front[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n <= 0) {
		cli_error("daemon: cannot find its own binary (/proc/self/exe)");
		return 1;
	}
	self[n] = 0;
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", self);
	dirname(dir);
	snprintf(runtime, sizeof runtime, "%s/nimbus-runtime", dir);
	/* VMs (and their console relays) run the lean `nimbus` beside us
	 * (vmm_main.c): a VMM then maps 5 libraries, not the daemon's 48. */
	snprintf(front, sizeof front, "%s/nimbus", dir);
	if (access(front, X_OK) == 0 && strlen(front) < sizeof self)
		memcpy(self, front, strlen(front) + 1);
	struct daemon_opts o = {
		.svc = {
			.state_dir = NIMBUS_STATE_DIR_DEFAULT,
			.guest_dir = cli_default_guest_dir(guest, sizeof guest),
			.runtime = runtime,
			.conmon = "/usr/bin/conmon",
			.self_exe = self,
		},
		.socket_path = NIMBUS_SOCKET_DEFAULT,
	};
	o.svc.vm_cgroup_parent = VM_CGROUP_PARENT;
	o.svc.load.psi_memory = LOAD_PSI_MEMORY_DEFAULT;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_SOCKET: o.socket_path = optarg; break;
		case OPT_STATE: o.svc.state_dir = optarg; break;
		case OPT_RUNTIME: o.svc.runtime = optarg; break;
		case OPT_CONMON: o.svc.conmon = optarg; break;
		case OPT_CPU_RATIO:
		case OPT_RAM_RATIO:
		case OPT_DISK_RATIO: {
			char *end;
			double r = strtod(optarg, &end);
			static const char *const which[] = { "cpu", "ram", "disk" };
			if (*end || end == optarg || !(r > 0 && r <= 1000)) {
				cli_error("daemon: --%s-ratio %s: expected a ratio above 0, at most 1000",
					  which[c - OPT_CPU_RATIO], optarg);
				return 2;
			}
			o.svc.ratio[c - OPT_CPU_RATIO] = r;
			break;
		}
		case OPT_MEM_LOW:
		case OPT_MEM_HIGH: {
			uint64_t b;
			if (parse_size(optarg, 1ULL << 20, &b) < 0 || b == 0 || b > (1ULL << 50)) {
				cli_error("daemon: --mem-%s %s: expected a size such as 512M or 2G",
					  c == OPT_MEM_LOW ? "low" : "high", optarg);
				return 2;
			}
			*(c == OPT_MEM_LOW ? &o.svc.pressure.low : &o.svc.pressure.high) = (long long)b;
			break;
		}
		case OPT_CPU_LOAD:
		case OPT_PSI_CPU:
		case OPT_PSI_MEMORY:
		case OPT_MEM_PSI:
		case OPT_VM_CPU: {
			static const char *const which[] = { "cpu-load-max", "psi-cpu-max",
							     "psi-memory-max", "mem-psi",
							     "vm-cpu-max" };
			double *to[] = { &o.svc.load.cpu_load, &o.svc.load.psi_cpu,
					 &o.svc.load.psi_memory, &o.svc.pressure.psi_stall,
					 &o.svc.load.vm_cpu };
			double most = c == OPT_CPU_LOAD ? 1000 : c == OPT_VM_CPU ? 1 : 100;
			char *end;
			double v = strtod(optarg, &end);
			if (*end || end == optarg || !(v >= 0 && v <= most)) {
				cli_error("daemon: --%s %s: expected a number from 0 (off) to %g",
					  which[c - OPT_CPU_LOAD], optarg, most);
				return 2;
			}
			*to[c - OPT_CPU_LOAD] = v;
			if (c == OPT_MEM_PSI && v == 0)
				o.svc.pressure.psi_stall = -1;   /* off; 0 is the default there */
			break;
		}
		case OPT_MEM_MERGE: o.svc.mem_merge = true; break;
		case OPT_VM_CGROUP_PARENT: {
			struct err pe = { 0 };
			if (!strcmp(optarg, "none")) {
				o.svc.vm_cgroup_parent = NULL;
			} else if (vm_cgroup_parse_parent(optarg, &pe) < 0) {
				cli_error("daemon: --vm-%s", pe.msg + 2);
				return 2;
			} else {
				o.svc.vm_cgroup_parent = optarg;
			}
			break;
		}
		case OPT_VM_CGROUP_WEIGHT: {
			char *end;
			errno = 0;
			long w = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || w < 1 || w > 10000) {
				cli_error("daemon: --vm-cgroup-weight %s: must be a number from 1 to 10000",
					  optarg);
				return 2;
			}
			o.svc.vm_cgroup_weight = (unsigned)w;
			break;
		}
		case OPT_PRICE: {
			struct err pe = { 0 };
			if (price_set(&o.svc.prices, optarg, &pe) < 0) {
				cli_error("daemon: %s", pe.msg);
				return 2;
			}
			break;
		}
		case OPT_LISTEN: {
			char host[256], port[8];
			struct err le = { 0 };
			if (http_listen_split(optarg, host, sizeof host, port, sizeof port, &le) < 0) {
				cli_error("daemon: %s", le.msg);
				return 2;
			}
			o.listen = optarg;
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: return 2;
		}
	}
	if (optind < argc) {
		cli_error("daemon: unexpected argument %s (try --help)", argv[optind]);
		return 2;
	}
	if (access(o.svc.runtime, X_OK) != 0) {
		cli_error("daemon: --runtime %s: not an executable (build it with `make`)", o.svc.runtime);
		return 2;
	}
	if (access(o.svc.conmon, X_OK) != 0) {
		cli_error("daemon: --conmon %s: not an executable (apt-get install conmon)", o.svc.conmon);
		return 2;
	}
	if (o.svc.pressure.low > 0 && o.svc.pressure.high > 0 &&
	    o.svc.pressure.high <= o.svc.pressure.low) {
		cli_error("daemon: --mem-high must be above --mem-low");
		return 2;
	}
	if (o.svc.mem_merge)
		cli_warn_if_ksm_off("daemon: --mem-merge");
	struct err e = { 0 };
	if (daemon_run(&o, &e) < 0) {
		cli_error("daemon: %s", e.msg);
		return 1;
	}
	return 0;
}
