"""The measurements of bench/api/run (see there)."""
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

T, RUNS, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
TOP = os.getcwd()
NIMBUS = os.path.join(TOP, "build", "nimbus")
RUNTIME = os.path.join(TOP, "build", "nimbus-runtime")
SOCK = os.path.join(T, "api.sock")
STATE = os.path.join(T, "s")
PM = ["podman", "--root", T + "/pm/root", "--runroot", T + "/pm/run", "--storage-driver", "vfs",
      "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
# The sandbox this runs in has a hard RLIMIT_NOFILE below podman's default.
PM_RUN = ["run", "-d", "--net", "none", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]

for line in open("/proc/self/mountinfo"):
    f = line.split()
    if f[f.index("-") + 1] == "cgroup2" and f[4] != "/sys/fs/cgroup":
        subprocess.run(["umount", "-l", f[4]], check=True)


class UnixHTTP(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("localhost", timeout=120)

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(SOCK)


def api(method, path, body=None, conn=None):
    c = conn or UnixHTTP()
    c.request(method, path, body=json.dumps(body) if body is not None else None)
    r = c.getresponse()
    data = r.read()
    if not conn:
        c.close()
    return r.status, data


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


log = open(T + "/nimbusd.log", "wb")
d = subprocess.Popen([NIMBUS, "daemon", "--socket", SOCK, "--state-dir", STATE], stdout=log, stderr=log)
for _ in range(200):
    try:
        if api("GET", "/1.0")[0] == 200:
            break
    except OSError:
        time.sleep(0.05)

# One image for every side: the daemon's busybox rootfs with a sleeping command.
os.makedirs(T + "/pm", exist_ok=True)
subprocess.run(["tar", "-C", STATE + "/images/bb/rootfs", "-cf", T + "/bb.tar", "."], check=True)
subprocess.run(PM + ["import", "-q", "--change", 'CMD ["/bin/sh", "-c", "trap \\"exit 0\\" TERM; sleep 100000 & wait"]',
                     T + "/bb.tar", "localhost/bench:1"], check=True, capture_output=True)
subprocess.run(PM + ["save", "-q", "--format", "oci-archive", "-o", T + "/bench.tar", "localhost/bench:1"],
               check=True, capture_output=True)
r = subprocess.run([NIMBUS, "image", "import", "--quiet", "--socket", SOCK, "--name", "bench", T + "/bench.tar"],
                   capture_output=True, text=True)
assert r.returncode == 0, r.stderr

rss_idle = rss_kib(d.pid)
sides = {"nimbusd": [], "podman+crun": [], "podman+runc": [], "podman+nimbus-runtime": []}
errors = {}
for i in range(RUNS):
    for side in sides:
        if side in errors:
            continue
        name = f"b{i}"
        if side == "nimbusd":
            t0 = time.perf_counter()
            st, body = api("POST", "/1.0/instances", {"name": name, "image": "bench"})
            dt = time.perf_counter() - t0
            if st != 201:
                errors[side] = body.decode()[:200]
                continue
            api("DELETE", f"/1.0/instances/{name}?force=true")
        else:
            rt = {"podman+crun": "crun", "podman+runc": "runc", "podman+nimbus-runtime": RUNTIME}[side]
            t0 = time.perf_counter()
            p = subprocess.run(PM + PM_RUN + ["--runtime", rt, "--name", name, "localhost/bench:1"],
                               capture_output=True, text=True)
            dt = time.perf_counter() - t0
            subprocess.run(PM + ["rm", "-f", "-t", "0", name], capture_output=True)
            if p.returncode != 0:
                errors[side] = (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1][:200]
                continue
        sides[side].append(dt)

# VM: through nimbusd against `nimbus vm run` to the same point (control socket answers).
vm_d, vm_direct = [], []
guest = os.path.expanduser("~/.cache/nimbus/guest/default")
if os.path.exists(guest + "/Image"):
    for i in range(max(3, RUNS // 2)):
        t0 = time.perf_counter()
        st, _ = api("POST", "/1.0/instances", {"name": f"v{i}", "image": "default"})
        vm_d.append(time.perf_counter() - t0)
        api("DELETE", f"/1.0/instances/v{i}?force=true")
        ctl = f"{T}/v{i}.sock"
        env = dict(os.environ, NIMBUS_GUEST_DIR=guest)
        t0 = time.perf_counter()
        p = subprocess.Popen([NIMBUS, "vm", "run", "--ephemeral", "--net", "none", "--control", ctl],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        while True:
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(ctl)
                s.sendall(b'{"id":1,"verb":"status"}\n')
                if b'"ok":true' in s.recv(4096):
                    break
            except OSError:
                time.sleep(0.005)
            finally:
                s.close()
        vm_direct.append(time.perf_counter() - t0)
        p.kill()
        p.wait()

# RSS with N running containers, then 100 instances; GET /1.0/instances per second.
for i in range(N):
    api("POST", "/1.0/instances", {"name": f"r{i}", "image": "bench"})
rss_n = rss_kib(d.pid)
for i in range(N, 100):
    api("POST", "/1.0/instances", {"name": f"r{i}", "image": "bench", "start": False})
rss_100 = rss_kib(d.pid)
conn = UnixHTTP()
count, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < 3:
    assert api("GET", "/1.0/instances", conn=conn)[0] == 200
    count += 1
rps = count / (time.perf_counter() - t0)
conn.close()
for i in range(100):
    api("DELETE", f"/1.0/instances/r{i}?force=true")
d.send_signal(signal.SIGTERM)
d.wait(30)
subprocess.run(PM + ["rmi", "-a", "-f"], capture_output=True)


def med(v):
    return statistics.median(v) if v else float("nan")


print(f"container launch-to-running, {RUNS} runs each, medians (ratio: side / nimbusd; >1: nimbusd is faster)")
print("| side | median (ms) | min (ms) | ratio to nimbusd |")
print("|---|---:|---:|---:|")
base = med(sides["nimbusd"])
for side, v in sides.items():
    if side in errors:
        print(f"| {side} | n/a | n/a | {errors[side]} |")
    else:
        print(f"| {side} | {med(v) * 1000:.0f} | {min(v) * 1000:.0f} | {med(v) / base:.2f}x |")
if vm_d:
    print(f"\nVM launch to control socket answering, {len(vm_d)} runs: nimbusd {med(vm_d) * 1000:.0f} ms, "
          f"`nimbus vm run` {med(vm_direct) * 1000:.0f} ms (overhead {med(vm_d) / med(vm_direct):.2f}x)")
print(f"\ndaemon RSS: idle {rss_idle / 1024:.1f} MiB, {N} running containers {rss_n / 1024:.1f} MiB, "
      f"100 instances ({N} running) {rss_100 / 1024:.1f} MiB")
print(f"GET /1.0/instances with 100 instances: {rps:.0f} requests/s (one keep-alive client)")
