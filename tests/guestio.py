"""Drives a VM's serial console from a test: start `nimbus vm run`, wait for
text, type commands, collect the exit status.  Standard library only."""
import os
import re
import subprocess
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Tests keep the default guest's persistent root disk out of the user's data directory.
os.environ.setdefault("NIMBUS_DATA", os.path.join(TOP, "build", "tests-data"))


def _this_trees_guest():
    """The default guest built from this tree's inputs, if built: the cache's
    `default` link follows whichever tree built last, which on a shared cache
    may be another checkout's guest."""
    try:
        d = subprocess.run([os.path.join(TOP, "guest", "build"), "--print-dir"], capture_output=True,
                           text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return d if d and os.path.exists(os.path.join(d, "initramfs.cpio.gz")) else None


if not os.environ.get("NIMBUS_GUEST_DIR"):
    _g = _this_trees_guest()
    if _g:
        os.environ["NIMBUS_GUEST_DIR"] = _g


def nimbus_binary():
    return os.environ.get("NIMBUS", os.path.join(TOP, "build", "nimbus"))


class Guest:
    def __init__(self, args, log_path=None, prefix=()):
        self.proc = subprocess.Popen(list(prefix) + [nimbus_binary(), "vm", "run"] + args,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.out = b""
        self.err = b""
        self.lock = threading.Condition()
        self.log = open(log_path, "wb") if log_path else None
        self.t_out = threading.Thread(target=self._pump, args=(self.proc.stdout, "out"), daemon=True)
        self.t_err = threading.Thread(target=self._pump, args=(self.proc.stderr, "err"), daemon=True)
        self.t_out.start()
        self.t_err.start()
        self.mark = 0

    def _pump(self, f, which):
        while True:
            b = os.read(f.fileno(), 4096)
            if not b:
                break
            with self.lock:
                if which == "out":
                    self.out += b
                else:
                    self.err += b
                if self.log:
                    self.log.write(b)
                    self.log.flush()
                self.lock.notify_all()

    def expect(self, pattern, timeout):
        """Waits for a regex in the output after the last match; returns the match."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                m = rx.search(self.out, self.mark)
                if m:
                    self.mark = m.end()
                    return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self.t_out.is_alive()):
                    tail = self.out[-400:].decode(errors="replace")
                    raise TimeoutError(f"no {pattern!r} within {timeout}s; output ends: {tail!r}; "
                                       f"stderr: {self.err[-300:].decode(errors='replace')!r}")
                self.lock.wait(min(left, 0.5))

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(f"VM did not exit within {timeout}s")
        finally:
            self.t_out.join(2)
            self.t_err.join(2)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Results:
    def __init__(self, prefix):
        self.prefix = prefix
        self.failed = 0

    def run(self, name, fn):
        t0 = time.monotonic()
        try:
            fn()
            print(f"ok {self.prefix}/{name} ({time.monotonic() - t0:.1f}s)", flush=True)
        except Exception as e:  # a failing check, a timeout, anything: the case fails
            self.failed += 1
            msg = " ".join(str(e).split())[:600]
            print(f"FAIL {self.prefix}/{name}: {msg}", flush=True)

    def exit(self):
        raise SystemExit(1 if self.failed else 0)
