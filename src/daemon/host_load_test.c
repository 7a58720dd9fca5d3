#include "daemon/host_load.h"
#include "lib/testing.h"

#include <errno.h>
#include <string.h>

TEST(psi_parse_reads_some_and_full_averages)
{
	struct psi p;
	struct err e = { 0 };
	EXPECT(psi_parse("some avg10=24.48 avg60=33.65 avg300=11.48 total=14707275662\n"
			 "full avg10=1.50 avg60=2.25 avg300=0.00 total=0\n", &p, &e) == 0);
	EXPECT(p.some_avg10 == 24.48 && p.some_avg60 == 33.65 && p.has_full &&
	       p.full_avg10 == 1.5 && p.full_avg60 == 2.25);
	/* cpu before Linux 5.13: no full line */
	EXPECT(psi_parse("some avg10=0.00 avg60=0.10 avg300=0.00 total=7\n", &p, &e) == 0);
	EXPECT(!p.has_full && p.some_avg60 == 0.1);
}

TEST(psi_parse_refuses_what_is_not_psi)
{
	struct psi p;
	struct err e = { 0 };
	EXPECT(psi_parse("", &p, &e) == -EINVAL && strstr(e.msg, "some"));
	EXPECT(psi_parse("some avg10=x avg60=1 total=0\n", &p, &e) == -EINVAL);
	EXPECT(psi_parse("some avg10=1 avg60=101 total=0\n", &p, &e) == -EINVAL);
	EXPECT(psi_parse("some avg10=1 avg60=2 total=0\nfull avg10=-1 avg60=0\n", &p, &e) ==
	       -EINVAL && strstr(e.msg, "full"));
}

TEST(loadavg_parse_reads_the_one_and_five_minute_averages)
{
	double one, five;
	struct err e = { 0 };
	EXPECT(loadavg_parse("2.15 0.88 0.78 3/612 48211\n", &one, &five, &e) == 0);
	EXPECT(one == 2.15 && five == 0.88);
	EXPECT(loadavg_parse("", &one, &five, &e) == -EINVAL);
	EXPECT(loadavg_parse("1.0", &one, &five, &e) == -EINVAL);
}

static struct host_load busy_host(void)
{
	struct host_load l = { .cpus = 2, .loadavg1 = 3.1, .loadavg5 = 2.0, .has_psi = true };
	l.psi[PSI_CPU] = (struct psi){ .some_avg60 = 62.5 };
	l.psi[PSI_MEMORY] = (struct psi){ .some_avg60 = 40, .full_avg60 = 34.2, .has_full = true };
	return l;
}

TEST(host_load_admit_names_the_measure_its_value_and_its_limit)
{
	struct host_load l = busy_host();
	struct err e = { 0 };
	struct load_limits off = { 0 };
	EXPECT(host_load_admit(&l, &off, &e) == 0);
	struct load_limits cpu = { .cpu_load = 1.5 };
	EXPECT(host_load_admit(&l, &cpu, &e) == -ENOSPC);
	EXPECT(!strcmp(e.msg, "this host is too busy: cpu: load average 3.10 over the last minute "
			      "on 2 CPUs (1.55 per CPU) is above --cpu-load-max 1.5"));
	cpu.cpu_load = 1.6;
	EXPECT(host_load_admit(&l, &cpu, &e) == 0);
	struct load_limits psi_cpu = { .psi_cpu = 50 };
	EXPECT(host_load_admit(&l, &psi_cpu, &e) == -ENOSPC &&
	       strstr(e.msg, "cpu pressure: tasks waited for a CPU 62.5% of the last minute") &&
	       strstr(e.msg, "--psi-cpu-max 50"));
	struct load_limits mem = { .psi_memory = LOAD_PSI_MEMORY_DEFAULT };
	EXPECT(host_load_admit(&l, &mem, &e) == -ENOSPC &&
	       strstr(e.msg, "short of memory") && strstr(e.msg, "34.2%") &&
	       strstr(e.msg, "--psi-memory-max 20"));
	mem.psi_memory = 35;
	EXPECT(host_load_admit(&l, &mem, &e) == 0);
}

TEST(host_load_admit_without_psi_judges_by_the_load_average_alone)
{
	struct host_load l = busy_host();
	l.has_psi = false;
	struct err e = { 0 };
	struct load_limits psi = { .psi_cpu = 1, .psi_memory = 1 };
	EXPECT(host_load_admit(&l, &psi, &e) == 0);
	struct load_limits cpu = { .cpu_load = 1 };
	EXPECT(host_load_admit(&l, &cpu, &e) == -ENOSPC);
}

TEST(host_load_read_reads_this_host)
{
	struct host_load l;
	struct err e = { 0 };
	EXPECT(host_load_read(&l, &e) == 0);
	EXPECT(l.cpus >= 1 && l.loadavg1 >= 0);
	/* PSI may or may not be there; when it is, its figures are percentages */
	for (int r = 0; l.has_psi && r < PSI_N; r++)
		EXPECT(l.psi[r].some_avg60 >= 0 && l.psi[r].some_avg60 <= 100);
}

TEST(host_load_admit_counts_the_vms_own_measured_cpu_not_the_hosts_other_work)
{
	struct host_load l = busy_host();   /* load 3.1 on 2 CPUs: builds, say */
	struct err e = { 0 };
	struct load_limits vm = { .vm_cpu = 0.5 };
	EXPECT(host_load_admit(&l, &vm, &e) == 0);      /* nothing measured yet: no verdict */
	l.has_vm_cpu = true;
	l.vms = 2;
	l.vm_cpus = 0.4;                                 /* the VMs idle: the load is not theirs */
	l.vm_window_s = 2;
	EXPECT(host_load_admit(&l, &vm, &e) == 0);
	l.vm_cpus = 1.37;                                /* the VMs use 1.37 of 2 CPUs */
	EXPECT(host_load_admit(&l, &vm, &e) == -ENOSPC);
	EXPECT(!strcmp(e.msg, "this host's VMs are too busy: cpu: its 2 running VMs used 1.37 of "
			      "its 2 CPUs over the last 2.0 s (measured from their processes), "
			      "above --vm-cpu-max 0.5"));
	struct load_limits off = { 0 };
	EXPECT(host_load_admit(&l, &off, &e) == 0);
}
