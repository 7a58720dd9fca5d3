"""Runs the measurements for bench/ctr/run (see there).  Must run in a
private mount namespace: it may unmount a hybrid host's cgroup2 mount."""
import os, shutil, statistics, subprocess, sys, time

T, NIMBUS, SEQ, ROUNDS = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
BUNDLE = T + "/bundle"
CONC = 50

def unified_mount():
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[f.index("-") + 1] == "cgroup2" and f[4] != "/sys/fs/cgroup":
            return f[4]
    return None

def one(rt, name, root):
    """Wall time (s) and max RSS (KiB) of `rt run`, or raise."""
    t0 = time.perf_counter()
    p = subprocess.run([T + "/rss", rt, "--root", root, "run", "-b", BUNDLE, name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    lines = p.stderr.decode(errors="replace").splitlines()
    msg = [l for l in lines if l.strip() and not l.startswith("maxrss ")]
    if p.returncode != 0:
        raise RuntimeError(msg[-1] if msg else "exit %d" % p.returncode)
    return dt, int(lines[-1].split()[1])

def concurrent(rt, tag, root):
    t0 = time.perf_counter()
    procs = [subprocess.Popen([rt, "--root", root, "run", "-b", BUNDLE, "%s-%d" % (tag, i)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for i in range(CONC)]
    ends = []
    for p in procs:
        p.wait()
        ends.append(time.perf_counter() - t0)
    bad = sum(p.returncode != 0 for p in procs)
    return max(ends), statistics.median(ends), bad

def bench(runtimes, label):
    seq = {n: [] for n in runtimes}
    rss = {n: 0 for n in runtimes}
    err = {}
    for i in range(SEQ):
        for n, rt in runtimes.items():
            if n in err:
                continue
            try:
                dt, m = one(rt, "b%s%d" % (n[0], i), "%s/root-%s" % (T, n))
                seq[n].append(dt)
                rss[n] = max(rss[n], m)
            except RuntimeError as e:
                err[n] = str(e)
    conc = {n: [] for n in runtimes}
    for r in range(ROUNDS):
        for n, rt in runtimes.items():
            if n in err:
                continue
            total, med, bad = concurrent(rt, "c%s%d" % (n[0], r), "%s/root-%s" % (T, n))
            if bad:
                err[n] = "%d of %d concurrent runs failed" % (bad, CONC)
                continue
            conc[n].append(total)
    print("\n" + label)
    print("%-8s %12s %8s %16s %8s %10s" % ("runtime", "run median", "ratio", "50 concurrent", "ratio", "peak RSS"))
    base = statistics.median(seq["nimbus"]) if seq.get("nimbus") else None
    cbase = statistics.median(conc["nimbus"]) if conc.get("nimbus") else None
    for n in runtimes:
        if n in err and not seq[n]:
            print("%-8s  fails: %s" % (n, err[n]))
            continue
        s = statistics.median(seq[n])
        c = statistics.median(conc[n]) if conc[n] else float("nan")
        print("%-8s %10.1f ms %7.2fx %13.1f ms %7.2fx %7.1f MiB%s" % (
            n, s * 1e3, s / base if base else float("nan"), c * 1e3,
            c / cbase if cbase else float("nan"), rss[n] / 1024.0,
            ("  (" + err[n] + ")") if n in err else ""))

runtimes = {"nimbus": NIMBUS}
for n in ("crun", "runc"):
    p = shutil.which(n)
    if p:
        runtimes[n] = p
print("bundle: busybox-static rootfs, /bin/true; %d sequential runs, %d rounds of %d concurrent"
      % (SEQ, ROUNDS, CONC))
uni = unified_mount()
if uni:
    hybrid = {n: r for n, r in runtimes.items()}
    bench(hybrid, "host cgroups as they are (hybrid: v1 + cgroup2 at %s)" % uni)
    subprocess.run(["umount", uni], check=True)
    bench(runtimes, "cgroup2 mount hidden (the host looks pure v1 to every runtime)")
else:
    bench(runtimes, "host cgroups as they are")
