"""Integration harness: the real `tern` binary on free loopback ports.

Every test that needs a server takes the `tern` fixture: a fresh data
directory, a config file with one listener per protocol on ports that were
free a moment ago, the domain `example.test`, and a server process that is
always stopped (SIGTERM, then SIGKILL) when the test ends. `tern.cli()` runs
admin commands against the same config. Nothing here talks to anything but
127.0.0.1.
"""
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import tempfile
import time

import pytest

TERN_BIN = os.environ.get("TERN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "tern")
SHARED = os.environ.get("TERN_SHARED") or os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared")
HOST = "127.0.0.1"

# What a sanitizer writes to stderr when it finds something. A server
# built with TERN_TSAN (or TERN_SANITIZE) and run with halt_on_error=1
# dies after the report, which a test may not notice (the race can happen
# while it is being stopped), so stop() and cli() look for the report
# itself and fail the test with it.
SANITIZER_MARKS = ("WARNING: ThreadSanitizer:", "ERROR: ThreadSanitizer:", "FATAL: ThreadSanitizer",
                   "ERROR: AddressSanitizer:", "ERROR: LeakSanitizer:", ": runtime error: ",
                   "VALGRIND-ERROR-BEGIN")

# TERN_VALGRIND=1 (tests/valgrind/run): every server runs under valgrind's
# memcheck, whose errors and definite leaks (at a clean exit) go to the log
# between markers that stop() looks for like a sanitizer's report.
VALGRIND = ["valgrind", "--quiet", "--error-markers=VALGRIND-ERROR-BEGIN,VALGRIND-ERROR-END",
            "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
            "--num-callers=30"] if os.environ.get("TERN_VALGRIND") else []


def sanitized_build():
    """An ASan or TSan build: freed memory sits in quarantine and shadow
    memory grows with use, so RSS says nothing about tern's own bound."""
    with open(TERN_BIN, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


def sanitizer_report(text):
    """The first sanitizer report in text (up to 6000 characters of it),
    or None."""
    at = min((i for i in (text.find(m) for m in SANITIZER_MARKS) if i >= 0), default=-1)
    return None if at < 0 else text[at:at + 6000]

# (name, protocol, tls) for the default listener set of a test server.
LISTENERS = [
    ("smtp", "smtp", "starttls"),
    ("submission", "submission", "starttls"),
    ("submissions", "submission", "implicit"),
    ("pop3", "pop3", "starttls"),
    ("pop3s", "pop3", "implicit"),
    ("imap", "imap", "starttls"),
    ("imaps", "imap", "implicit"),
]


# Every port this process has handed out. A port chosen for one server but
# not bound yet is free to the kernel, which may hand it out again to the
# next caller (tern's ports, then pebble's, before tern starts): seen as
# tern's "address already in use", and as pebble validating a port tern
# had to give up.
_handed_out = set()


def free_ports(n, host=HOST):
    """n distinct free ports, none handed out before by this process: all
    are held open until all are chosen, so the kernel cannot hand out the
    same one twice, and a port given earlier is skipped."""
    socks, ports = [], []
    try:
        while len(ports) < n and len(socks) < n + 200:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
            port = s.getsockname()[1]
            if port not in _handed_out:
                _handed_out.add(port)
                ports.append(port)
        if len(ports) < n:
            raise RuntimeError("no %d free ports left" % n)
        return ports
    finally:
        for s in socks:
            s.close()


def free_port(host=HOST):
    return free_ports(1, host)[0]


def ssl_ctx():
    """A client TLS context that accepts tern's self-signed certificate."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def wait_port(host, port, timeout=15.0, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("tern exited with %s" % proc.returncode)
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("port %d never opened" % port)


class Tern:
    """One tern server under test."""

    def __init__(self, tmpdir, extra_config="", listeners=None, domain="example.test",
                 host=HOST, auth=None, server=None):
        self.dir = tmpdir
        self.host = host
        self.data_dir = os.path.join(tmpdir, "data")
        self.config_path = os.path.join(tmpdir, "tern.toml")
        self.log_path = os.path.join(tmpdir, "tern.log")
        self.domain = domain
        self.listeners = listeners or LISTENERS
        self.pick_ports()
        self.extra_config = extra_config
        # [auth] settings: fast failure delays for tests, overridable.
        self.auth = {"fail_delay_ms": 10, "fail_max_delay_ms": 50}
        self.auth.update(auth or {})
        self.server = server or {}  # more [server] keys
        self.proc = None
        self.log_checked = 0  # how much of the log stop() has searched for a report
        self.stdout_path = os.path.join(tmpdir, "tern.stdout")
        # Called with this instance when start() had to pick new ports, for
        # a peer configured with the old ones (pebble's http-01 port).
        self.on_new_ports = None
        self.write_config()

    def pick_ports(self):
        names = [name for name, _, _ in self.listeners]
        self.ports = dict(zip(names, free_ports(len(names), self.host)))

    def write_config(self):
        lines = [
            "[server]",
            'hostname = "mail.%s"' % self.domain,
            'data_dir = "%s"' % self.data_dir,
            'domain = "%s"' % self.domain,
            'log_level = "debug"',
            "shutdown_grace = 2",
        ]
        for k, v in self.server.items():
            lines.append("%s = %s" % (k, v))
        lines += ["", "[auth]"]
        for k, v in self.auth.items():
            lines.append("%s = %s" % (k, str(v).lower() if isinstance(v, bool) else v))
        lines.append("")
        # extra_config may be a function of this instance, for settings that
        # name its own ports (they change when start() has to re-pick them).
        lines.append(self.extra_config(self) if callable(self.extra_config)
                     else self.extra_config)
        for name, proto, tls in self.listeners:
            lines += ["[[listen]]", 'protocol = "%s"' % proto,
                      'address = "%s:%d"' % (self.host, self.ports[name]),
                      'tls = "%s"' % tls, ""]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def port(self, name):
        return self.ports[name]

    @property
    def cert_path(self):
        return os.path.join(self.data_dir, "tls", "selfsigned.crt")

    def start(self, wait=True):
        for attempt in range(3):
            self.log = open(self.log_path, "ab")
            self.out = open(self.stdout_path, "ab")
            self.proc = subprocess.Popen(VALGRIND + [TERN_BIN, "--config", self.config_path,
                                                     "serve"],
                                         stdout=self.out, stderr=self.log,
                                         stdin=subprocess.DEVNULL)
            if not wait:
                return self
            try:
                for name in self.ports:
                    wait_port(self.host, self.ports[name], proc=self.proc,
                              timeout=180 if VALGRIND else 15)
                # A port another process took answers too: tern, which
                # binds every listener at once, has exited by now if one
                # of its binds failed.
                time.sleep(0.05)
                if self.proc.poll() is not None:
                    raise RuntimeError("tern exited with %s" % self.proc.returncode)
                return self
            except RuntimeError:
                # Another process on this machine took a port between our
                # check and tern's bind: pick new ports and try again.
                self.proc.wait()
                self.proc = None
                self.log.close()
                self.out.close()
                if attempt == 2 or "address already in use" not in self.logs():
                    raise
                self.pick_ports()
                self.write_config()
                if self.on_new_ports:
                    self.on_new_ports(self)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=None):
        if self.proc is None:
            return None
        if timeout is None:
            timeout = 90 if VALGRIND else 15  # memcheck's leak search at exit
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        self.out.close()
        self.check_sanitizer()
        return rc

    def check_sanitizer(self):
        """Fail if the server wrote a sanitizer report since the last look."""
        text = self.logs()
        report = sanitizer_report(text[self.log_checked:])
        self.log_checked = len(text)
        if report:
            pytest.fail("tern (%s) wrote a sanitizer report:\n%s" % (self.log_path, report),
                        pytrace=False)

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def cli(self, *args, input=None, check=False):
        r = subprocess.run([TERN_BIN, "--config", self.config_path, *args],
                           input=input, capture_output=True, text=True,
                           timeout=60, check=check)
        report = sanitizer_report(r.stderr)
        if report:
            pytest.fail("tern %s wrote a sanitizer report:\n%s" % (" ".join(args), report),
                        pytrace=False)
        return r

    def add_user(self, address, password):
        r = self.cli("user", "add", address, "--password-stdin", input=password + "\n")
        assert r.returncode == 0, r.stderr
        return r

    def add_domain(self, domain):
        r = self.cli("domain", "add", domain)
        assert r.returncode == 0, r.stderr
        return r

    def db(self):
        """A read connection to the server's database."""
        return sqlite3.connect(os.path.join(self.data_dir, "tern.db"), timeout=10)

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


@pytest.fixture
def tern_factory():
    """Make servers with custom config; all are stopped at the end."""
    made = []
    dirs = []

    def make(extra_config="", listeners=None, start=True, **kw):
        d = tempfile.mkdtemp(prefix="tern-test-")
        dirs.append(d)
        t = Tern(d, extra_config=extra_config, listeners=listeners, **kw)
        made.append(t)
        if start:
            t.start()
        return t

    yield make
    failures = []
    for t in made:
        try:
            t.stop()
        except pytest.fail.Exception as e:  # stop the others all the same
            failures.append(str(e))
    for d in dirs:
        subprocess.run(["rm", "-rf", d])
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.fixture
def tern(tern_factory):
    """A started server for domain example.test (postmaster@example.test
    is created on first start; with stdout not a terminal, its password is
    in <data_dir>/postmaster.password)."""
    return tern_factory()
