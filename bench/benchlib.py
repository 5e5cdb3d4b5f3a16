"""Shared helpers for tern's benchmarks: private server instances on loopback.

Every server started here is a private instance under a temporary directory,
listening on 127.0.0.1 on a free port, and is stopped by the caller through
a context manager (``with``) so an exception or Ctrl-C never leaves a
process behind. Benchmarks only: never imported by the test suite.
"""

import contextlib
import json
import os
import pwd
import random
import grp
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH_DOMAIN = "bench.test"
BENCH_USER = "rcpt@" + BENCH_DOMAIN
BENCH_PASS = "benchpass"


def _sigterm(signum, frame):
    # turn SIGTERM into an exception so every `finally` stops its server
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _sigterm)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    """A port nothing listens on, below the ephemeral range: a port from
    bind(0) is an ephemeral one, and on a busy machine an outgoing
    connection can take it as its source port before the server binds it
    (Dovecot then fails with "listen(...) failed: Address already in use")."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0, proc=None, what="server"):
    """Wait until something accepts on 127.0.0.1:port and sends a greeting."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with status %s before listening" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.settimeout(5)
                data = s.recv(512)
                if data:
                    return data
        except OSError as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError("%s did not answer on port %d within %.0fs (%s)" % (what, port, timeout, last))


def bench_tmpdir(prefix):
    """A temporary directory on a real disk (fsync must mean something)."""
    base = os.environ.get("BENCH_TMPDIR") or "/var/tmp"
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(d, 0o755)
    return d


def remove_tree(path):
    """rm -rf that retries: a daemon that just exited may still be closing
    or creating files in it."""
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            return
        time.sleep(0.25)
    log("could not remove %s" % path)


def fs_type(path):
    try:
        out = subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True)
        return out.stdout.strip()
    except OSError:
        return "?"


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def bin_path(name):
    d = os.environ.get("BENCH_BIN") or os.path.join(HERE, "bin")
    p = os.path.join(d, name)
    if not os.access(p, os.X_OK):
        subprocess.run(["bash", os.path.join(HERE, "build.sh")], check=True, stdout=subprocess.DEVNULL)
    return p


def find_tern():
    cands = [os.environ.get("TERN_BIN")]
    for d in ("build-bench", "bench/build", "build"):
        cands.append(os.path.join(ROOT, d, "tern"))
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    return None


def run_json(cmd, timeout):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    line = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    try:
        res = json.loads(line)
    except ValueError:
        raise RuntimeError("%s failed (status %d): %s %s" % (os.path.basename(cmd[0]), p.returncode,
                                                              p.stdout[-500:], p.stderr[-500:]))
    res["_rc"] = p.returncode
    res["_stderr"] = p.stderr
    return res


def stop_process(proc, sig=signal.SIGTERM, timeout=15):
    """Stop a process we started (by its pid only); returns its exit status."""
    if proc is None or proc.poll() is not None:
        return proc.returncode if proc else None
    try:
        proc.send_signal(sig)
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def nofile_preexec(n):
    """A preexec_fn raising RLIMIT_NOFILE to n (root may raise the hard
    limit too), or None."""
    if not n:
        return None

    def f():
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard)))
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return f


def descendants(pid):
    """pid and all its descendants (one pass over /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def proc_memory(pids):
    """Memory of a set of processes, in KiB: {'rss': sum of VmRSS, 'pss': sum
    of Pss (smaps_rollup: shared pages divided among their users), 'procs': n,
    'names': {comm: count}}. Processes that vanish meanwhile are skipped."""
    rss = pss = n = 0
    names = {}
    for pid in pids:
        try:
            with open("/proc/%d/status" % pid) as f:
                st = f.read()
            r = None
            for line in st.splitlines():
                if line.startswith("VmRSS:"):
                    r = int(line.split()[1])
                elif line.startswith("Name:"):
                    name = line.split(None, 1)[1].strip()
            if r is None:
                continue  # a zombie
            p = 0
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        p = int(line.split()[1])
                        break
        except (OSError, ValueError):
            continue
        rss += r
        pss += p
        n += 1
        names[name] = names.get(name, 0) + 1
    return {"rss": rss, "pss": pss, "procs": n, "names": names}


# ---------------------------------------------------------------- tern


class Tern:
    """A private tern: temp data dir, generated config, one SMTP and one
    POP3 listener on free loopback ports, account rcpt@bench.test."""

    def __init__(self, binary, protocols=("smtp",), keep=False, log_level="warn",
                 count_fsyncs=True, greet_delay_ms=0, extra_config="", nofile=None,
                 auth_config=""):
        self.bin = binary
        # more [auth] keys, one per line (e.g. "cache_ttl = 0\n")
        self.auth_config = auth_config
        # TOML appended after [auth]/[smtp] (e.g. "[limits]\n..."), and a
        # RLIMIT_NOFILE for the server (10,000 IMAP connections need more
        # than the usual 1024..20000).
        self.extra_config = extra_config
        self.nofile = nofile
        self.count_fsyncs = count_fsyncs
        self.fsync_out = None
        self.dir = bench_tmpdir("tern-bench-")
        self.data = os.path.join(self.dir, "data")
        self.conf = os.path.join(self.dir, "tern.toml")
        self.ports = {p: free_port() for p in protocols}
        self.proc = None
        self.stderr_path = os.path.join(self.dir, "tern.stderr")
        self.keep = keep
        self.last_stats = None
        self.last_fsyncs = None
        self.listens = "".join(
            '\n[[listen]]\nprotocol = "%s"\naddress = "127.0.0.1:%d"\ntls = "none"\n' % (p, port)
            for p, port in self.ports.items())
        self.log_level = log_level
        # The mx greeting delay (anti early-talker, 250 ms by default) would
        # add 250 ms to every connection; Postfix's smtpd has none (that is
        # postscreen's job), so the benchmark turns it off.
        self.greet_delay_ms = greet_delay_ms
        self.write_config()

    def write_config(self):
        smtp = ""
        if self.greet_delay_ms is not None:
            smtp = "\n[smtp]\ngreet_delay_ms = %d\n" % self.greet_delay_ms
        with open(self.conf, "w") as f:
            f.write('[server]\ndata_dir = "%s"\ndomain = "%s"\nhostname = "tern.%s"\n'
                    'log_level = "%s"\nshutdown_grace = 5\n\n'
                    '[auth]\nplaintext_loopback = true\n%s%s%s%s'
                    % (self.data, BENCH_DOMAIN, BENCH_DOMAIN, self.log_level, self.auth_config, smtp,
                       ("\n" + self.extra_config) if self.extra_config else "", self.listens))

    def cli(self, *args, stdin=None, check=True):
        p = subprocess.run([self.bin, "--config", self.conf] + list(args), input=stdin,
                           capture_output=True, text=True, timeout=60)
        if check and p.returncode != 0:
            raise RuntimeError("tern %s: %s%s" % (" ".join(args), p.stdout, p.stderr))
        return p

    def setup_account(self):
        p = self.cli("check-config", check=False)
        if p.returncode != 0 and "greet_delay_ms" in p.stdout + p.stderr:
            self.greet_delay_ms = None  # an older tern without the key
            self.write_config()
            p = self.cli("check-config", check=False)
        if p.returncode != 0:
            raise RuntimeError("tern check-config: %s%s" % (p.stdout, p.stderr))
        self.cli("domain", "add", BENCH_DOMAIN, check=False)  # may exist already
        p = self.cli("user", "add", BENCH_USER, "--password-stdin", stdin=BENCH_PASS + "\n",
                     check=False)
        if p.returncode != 0 and "exist" not in (p.stdout + p.stderr).lower():
            raise RuntimeError("tern user add: %s%s" % (p.stdout, p.stderr))

    def start(self):
        self.errf = open(self.stderr_path, "ab")
        env = dict(os.environ)
        if self.count_fsyncs:
            shim = bin_path("fsync_count.so")
            self.fsync_out = os.path.join(self.dir, "fsyncs.%d" % int(time.time() * 1000))
            env["LD_PRELOAD"] = shim
            env["FSYNC_COUNT_OUT"] = self.fsync_out
        self.proc = subprocess.Popen([self.bin, "--config", self.conf, "serve"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.errf, stderr=self.errf,
                                     preexec_fn=nofile_preexec(self.nofile))
        for proto, port in self.ports.items():
            wait_port(port, proc=self.proc, what="tern")
        return self

    def stop(self):
        """SIGTERM; returns the parsed `event=store_stats` line if logged."""
        rc = stop_process(self.proc, timeout=30)
        if hasattr(self, "errf"):
            self.errf.close()
        self.proc = None
        self.last_stats = self.parse_store_stats()
        self.last_fsyncs = self.parse_fsyncs()
        return rc

    def parse_fsyncs(self):
        """{'wal_syncs': N, 'db_syncs': M, 'other_syncs': K} from the shim."""
        if not self.fsync_out:
            return None
        try:
            with open(self.fsync_out) as f:
                line = f.read().strip().splitlines()[-1]
        except (OSError, IndexError):
            return None
        return {k: int(v) for k, v in (t.split("=") for t in line.split())}

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def parse_store_stats(self):
        """Last `event=store_stats jobs=N commits=M ...` line, as a dict."""
        stats = None
        for line in self.stderr_text().splitlines():
            if "event=store_stats" in line:
                d = {}
                for tok in line.split():
                    if "=" in tok:
                        k, v = tok.split("=", 1)
                        try:
                            d[k] = int(v)
                        except ValueError:
                            d[k] = v
                stats = d
        return stats

    def cleanup(self):
        if self.proc is not None:
            self.stop()
        if not self.keep:
            remove_tree(self.dir)


@contextlib.contextmanager
def tern_instance(binary, protocols=("smtp",), keep=False):
    t = Tern(binary, protocols, keep)
    try:
        t.setup_account()
        yield t
    finally:
        t.cleanup()


# ---------------------------------------------------------------- postfix

POSTFIX_MASTER_CF = """\
{port}      inet  n       -       n       -       {maxproc}     smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class Postfix:
    """A private Postfix: own config/queue/data directories, smtpd on a free
    loopback port, mail for bench.test delivered by virtual(8) into a
    Maildir under the temp dir (a real mailbox, not discard)."""

    def __init__(self, maxproc=250, keep=False):
        self.dir = bench_tmpdir("postfix-bench-")
        self.conf = os.path.join(self.dir, "etc")
        self.queue = os.path.join(self.dir, "spool")
        self.data = os.path.join(self.dir, "data")
        self.vmail = os.path.join(self.dir, "vmail")
        self.port = free_port()
        self.keep = keep
        self.started = False
        for d in (self.conf, self.queue, self.data, self.vmail):
            os.makedirs(d, exist_ok=True)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.vmail, nobody.pw_uid, nobody.pw_gid)
        # postfix wants its data directory owned by mail_owner
        pf = pwd.getpwnam("postfix")
        os.chown(self.data, pf.pw_uid, pf.pw_gid)
        with open(os.path.join(self.conf, "vmailbox"), "w") as f:
            f.write("%s %s/\n" % (BENCH_USER, BENCH_USER.replace("@", "_")))
        main_cf = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "command_directory": "/usr/sbin",
            "daemon_directory": "/usr/lib/postfix/sbin",
            "shlib_directory": "/usr/lib/postfix",
            "meta_directory": "/etc/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "postfix." + BENCH_DOMAIN,
            "mydomain": BENCH_DOMAIN,
            "myorigin": BENCH_DOMAIN,
            "mydestination": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "virtual_mailbox_domains": BENCH_DOMAIN,
            "virtual_mailbox_base": self.vmail,
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.conf, "vmailbox"),
            "virtual_uid_maps": "static:%d" % nobody.pw_uid,
            "virtual_gid_maps": "static:%d" % nobody.pw_gid,
            "virtual_minimum_uid": "1",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "default_process_limit": str(maxproc + 50),
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_client_message_rate_limit": "0",
            "smtpd_client_recipient_rate_limit": "0",
            "smtpd_peername_lookup": "no",
            "smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "biff": "no",
            "message_size_limit": "52428800",
            "virtual_mailbox_limit": "0",
            "maillog_file": os.path.join(self.dir, "maillog"),
            "smtputf8_enable": "no",
        }
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for k, v in main_cf.items():
                f.write("%s = %s\n" % (k, v))
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(port="127.0.0.1:%d" % self.port, maxproc=maxproc))

    def _postfix(self, *args, check=True):
        p = subprocess.run(["postfix", "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=120)
        if check and p.returncode != 0:
            raise RuntimeError("postfix %s: %s%s\n(maillog: %s)" % (
                " ".join(args), p.stdout, p.stderr, self.maillog_tail()))
        return p

    def maillog_tail(self, n=15):
        try:
            with open(os.path.join(self.dir, "maillog"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def start(self):
        self._postfix("check", check=False)  # creates the queue directories
        self.started = True
        self._postfix("start")
        wait_port(self.port, what="postfix")
        return self

    def delivered(self):
        base = os.path.join(self.vmail, BENCH_USER.replace("@", "_"))
        n = 0
        for sub in ("new", "cur"):
            try:
                n += len(os.listdir(os.path.join(base, sub)))
            except OSError:
                pass
        return n

    def queued(self):
        n = 0
        for sub in ("incoming", "active", "deferred", "maildrop"):
            for _, _, files in os.walk(os.path.join(self.queue, sub)):
                n += len(files)
        return n

    def wait_drained(self, timeout=120):
        """Wait until the queue is empty (so delivery of one cell does not
        eat the CPU of the next)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.queued() == 0:
                return True
            time.sleep(0.2)
        return False

    def stop(self):
        if self.started:
            self._postfix("stop", check=False)
            # master exits asynchronously; wait for its pid file to go
            pidf = os.path.join(self.queue, "pid", "master.pid")
            for _ in range(100):
                if not os.path.exists(pidf):
                    break
                try:
                    pid = int(open(pidf).read().strip())
                    os.kill(pid, 0)
                except (OSError, ValueError):
                    break
                time.sleep(0.1)
            self.started = False

    def cleanup(self):
        self.stop()
        if not self.keep:
            remove_tree(self.dir)


@contextlib.contextmanager
def postfix_instance(keep=False):
    p = Postfix(keep=keep)
    try:
        p.start()
        yield p
    finally:
        p.cleanup()


# ---------------------------------------------------------------- smtp-sink

@contextlib.contextmanager
def smtp_sink_instance():
    port = free_port()
    proc = subprocess.Popen(["smtp-sink", "-u", "postfix", "-m", "2000",
                             "127.0.0.1:%d" % port, "1024"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        wait_port(port, proc=proc, what="smtp-sink")
        yield port
    finally:
        stop_process(proc)


# ---------------------------------------------------------------- dovecot

class Dovecot:
    """A private Dovecot: own base_dir, passwd-file passdb/userdb, Maildirs
    under the temp dir, no TLS. By default a POP3 server for
    rcpt@bench.test with a {PLAIN} password (pop3_bench.py); protocols=
    ("imap",) makes it an IMAP server, users= [(address, "{SCHEME}hash")]
    replaces the account list, extra_conf is appended to dovecot.conf,
    nofile raises its RLIMIT_NOFILE."""

    def __init__(self, keep=False, protocols=("pop3",), users=None, extra_conf="", nofile=None):
        self.dir = bench_tmpdir("dovecot-bench-")
        self.protocols = tuple(protocols)
        self.ports = {p: free_port() for p in self.protocols}
        self.port = self.ports[self.protocols[0]]
        self.keep = keep
        self.nofile = nofile
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.base = os.path.join(self.dir, "run")
        self.mail = os.path.join(self.dir, "mail")
        self.started = False
        self.proc = None
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        for d in (self.base, self.mail, os.path.join(self.dir, "state")):
            os.makedirs(d, exist_ok=True)
        os.chown(self.mail, self.uid, self.gid)
        self.maildir = os.path.join(self.mail, BENCH_USER)
        self.set_users(users or [(BENCH_USER, "{PLAIN}" + BENCH_PASS)])
        self.write_config(extra_conf)

    def maildir_of(self, user):
        return os.path.join(self.mail, user)

    def set_users(self, users):
        """users: (address, password) or (address, password, uid): a uid of
        its own per user (no passwd entry needed) keeps each user's imap
        processes under the per-uid inotify instance limit (128 by
        default), as on a server where every user is a system user."""
        self.user_uids = {}
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            for u in users:
                user, password = u[0], u[1]
                uid = u[2] if len(u) > 2 else self.uid
                self.user_uids[user] = uid
                # user:password:uid:gid:gecos:home:shell
                f.write("%s:%s:%d:%d::%s::\n" % (user, password, uid, self.gid,
                                                 self.maildir_of(user)))

    def write_config(self, extra_conf=""):
        def listener(proto, name):
            port = self.ports.get(proto, 0)
            addr = "    address = 127.0.0.1\n" if port else ""
            return "  inet_listener %s {\n%s    port = %d\n  }\n" % (name, addr, port)
        with open(self.conf, "w") as f:
            f.write("""\
protocols = {protocols}
listen = 127.0.0.1
base_dir = {base}
state_dir = {dir}/state
instance_name = dovecot-bench-{port}
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_location = maildir:{mail}/%u
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
service pop3-login {{
{pop3}  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
{imap}  inet_listener imaps {{
    port = 0
  }}
}}
service stats {{
  unix_listener stats-reader {{
    user = root
  }}
}}
{extra}""".format(protocols=" ".join(self.protocols), base=self.base, dir=self.dir,
                  port=self.port, mail=self.mail, pop3=listener("pop3", "pop3"),
                  imap=listener("imap", "imap"), extra=extra_conf))

    def start(self):
        # -F: stay in the foreground, so the process is ours to stop
        self.logf = open(os.path.join(self.dir, "dovecot.stderr"), "ab")
        self.proc = subprocess.Popen(["dovecot", "-F", "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=self.logf, stderr=self.logf,
                                     preexec_fn=nofile_preexec(self.nofile))
        self.started = True
        wait_port(self.port, proc=self.proc, what="dovecot")
        return self

    def stop(self):
        if not self.started:
            return
        subprocess.run(["doveadm", "-c", self.conf, "stop"], capture_output=True, timeout=60)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
        self.logf.close()
        self.started = False

    def pids(self):
        """The master (dovecot -F) and every process under it."""
        if not self.started or self.proc is None or self.proc.poll() is not None:
            return []
        return descendants(self.proc.pid)

    def log_tail(self, n=15):
        try:
            with open(os.path.join(self.dir, "dovecot.log"), errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        if not self.keep:
            remove_tree(self.dir)
