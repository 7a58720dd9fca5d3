# Shared helpers for tests/ctr/run and bench/ctr/run: a busybox rootfs and
# config.json generation.  Sourced, not run.

# mk_rootfs DIR: a busybox-static root filesystem with every applet linked.
mk_rootfs() {
	local r=$1 bb
	bb=$(command -v busybox) || return 1
	mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev" "$r/etc" "$r/tmp" "$r/root"
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do
		[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
	echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
	echo "root:x:0:" >"$r/etc/group"
	chmod 1777 "$r/tmp"
}

# mk_config BUNDLE PYTHON: writes BUNDLE/config.json from the base below,
# after running PYTHON (statements on the dict `c`; helpers: args(...)).
mk_config() {
	local bundle=$1 code=${2:-}
	python3 - "$bundle" "$code" <<'PY'
import json, sys
bundle, code = sys.argv[1], sys.argv[2]
caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
        "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW",
        "CAP_NET_ADMIN", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
        "CAP_SYS_ADMIN"]
c = {
  "ociVersion": "1.0.2",
  "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["true"],
              "env": ["PATH=/bin:/sbin:/usr/bin", "HOME=/root"], "cwd": "/",
              "capabilities": {k: caps for k in ["bounding", "effective", "permitted"]},
              "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
              "noNewPrivileges": True},
  "root": {"path": "rootfs", "readonly": False},
  "hostname": "nimbus-test",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
  ],
  "linux": {
    "resources": {"devices": [{"allow": False, "access": "rwm"}]},
    "namespaces": [{"type": t} for t in ["pid", "network", "ipc", "uts", "mount", "cgroup"]],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware", "/proc/acpi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"],
  },
}
def args(*a): c["process"]["args"] = list(a)
def sh(s): args("sh", "-c", s)
def res(): return c["linux"]["resources"]
exec(code)
json.dump(c, open(bundle + "/config.json", "w"), indent=1)
PY
}
