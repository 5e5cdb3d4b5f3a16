"""Configuration from TERN_* environment variables (what the container image
sets), $TERN_DATA_DIR/tern.toml, and `tern health` (the image's HEALTHCHECK).

The normal binary, no config file: the variables put its listeners on free
loopback ports, and the tests check what listens and answers there."""
import imaplib
import os
import re
import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import TERN_BIN, free_ports, sanitizer_report, ssl_ctx, wait_port

HOST = "127.0.0.1"


def clean_env(**tern_vars):
    """os.environ without any TERN_* variable, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TERN_")}
    env.update(tern_vars)
    return env


def run(args, env, cwd=None, timeout=30):
    r = subprocess.run([TERN_BIN, *args], env=env, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout)
    report = sanitizer_report(r.stderr)
    if report:
        pytest.fail("tern %s wrote a sanitizer report:\n%s" % (" ".join(args), report),
                    pytrace=False)
    return r


class EnvServer:
    """`tern serve` with only environment variables; stopped by the fixture."""

    def __init__(self, tmp_path):
        self.dir = tmp_path
        self.proc = None
        self.log_path = tmp_path / "tern.log"

    def start(self, env, ports):
        self.env = env
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([TERN_BIN, "serve"], env=env, cwd=self.dir,
                                         stdout=subprocess.DEVNULL, stderr=log,
                                         stdin=subprocess.DEVNULL)
        for p in ports:
            wait_port(HOST, p, proc=self.proc)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def log(self):
        text = self.log_path.read_text(errors="replace")
        report = sanitizer_report(text)
        if report:
            pytest.fail("tern serve wrote a sanitizer report:\n%s" % report, pytrace=False)
        return text


@pytest.fixture
def env_server(tmp_path):
    s = EnvServer(tmp_path)
    yield s
    s.stop()
    if s.log_path.exists():
        s.log()  # fails the test on a sanitizer report


def test_env_sets_listeners_domain_hostname_data_dir(env_server, tmp_path):
    smtp, imaps, http = free_ports(3)
    data = tmp_path / "store"
    env = clean_env(TERN_DOMAIN="example.test", TERN_HOSTNAME="mail.example.test",
                    TERN_DATA_DIR=str(data), TERN_LOG_LEVEL="debug",
                    TERN_LISTEN="smtp=%s:%d, imaps=%s:%d http=%s:%d" % (
                        HOST, smtp, HOST, imaps, HOST, http))
    env_server.start(env, [smtp, imaps, http])
    # The data directory, domain and first-start account the variables name.
    password = (data / "postmaster.password").read_text().strip()
    with smtplib.SMTP(HOST, smtp, timeout=10) as s:
        code, banner = s.ehlo()
        assert code == 250 and banner.startswith(b"mail.example.test")
        s.sendmail("a@remote.test", ["postmaster@example.test"],
                   b"Subject: env\r\n\r\nconfigured by the environment\r\n")
    im = imaplib.IMAP4_SSL(HOST, imaps, ssl_context=ssl_ctx())
    im.login("postmaster@example.test", password)
    typ, data_ = im.select("INBOX")
    assert typ == "OK" and int(data_[0]) == 1
    im.logout()
    # Exactly the listeners TERN_LISTEN names: no default port opened.
    log = env_server.log()
    assert len(re.findall(r"event=listen ", log)) == 3
    for proto, port, tls in (("smtp", smtp, "starttls"), ("imap", imaps, "implicit"),
                             ("http", http, "none")):
        assert "event=listen protocol=%s address=%s:%d tls=%s" % (proto, HOST, port, tls) in log
    assert "127.0.0.1:2525" not in log
    assert "event=config file=\"(embedded default)\" " \
           "env=TERN_DOMAIN,TERN_HOSTNAME,TERN_DATA_DIR,TERN_LOG_LEVEL,TERN_LISTEN" in log
    # All on loopback: the log says only this machine can connect.
    assert "event=loopback_only listeners=3" in log
    # tern health, with the same environment, asks /healthz on the HTTP listener.
    r = run(["health"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "healthy: http %s:%d GET /healthz: HTTP/1.1 200 OK\n" % (HOST, http)
    assert env_server.stop() == 0
    assert "event=stopped" in env_server.log()
    # Stopped: unhealthy, exit 1 (never 2, which Docker reserves).
    r = run(["health"], env)
    assert r.returncode == 1
    assert "tern health: unhealthy: http %s:%d GET /healthz: Connection refused" % (
        HOST, http) in r.stderr


def test_check_config_shows_the_environment(tmp_path):
    env = clean_env(TERN_DOMAIN="example.org", TERN_DATA_DIR=str(tmp_path / "d"),
                    TERN_LISTEN="smtp=0.0.0.0:25 imaps=[::]:993 https=0.0.0.0:443")
    r = run(["check-config"], env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "configuration ok: (embedded default)"
    assert lines[1] == "  from the environment: TERN_DOMAIN,TERN_DATA_DIR,TERN_LISTEN " \
                       "(a file's keys win)"
    assert re.search(r"listen smtp +0\.0\.0\.0:25 +tls=starttls", r.stdout)
    assert re.search(r"listen imap +\[::\]:993 +tls=implicit", r.stdout)
    assert re.search(r"listen http +0\.0\.0\.0:443 +tls=implicit", r.stdout)
    assert "listen pop3" not in r.stdout
    assert "data_dir %s, domain example.org, hostname localhost" % (tmp_path / "d") in r.stdout


def test_without_variables_nothing_changes():
    r = run(["check-config"], clean_env())
    assert r.returncode == 0, r.stderr
    assert "from the environment" not in r.stdout
    assert "listen smtp       127.0.0.1:2525" in r.stdout


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_data_dir_tern_toml_is_applied_over_the_variables(tmp_path):
    data = tmp_path / "data"
    write(data / "tern.toml", '[server]\ndomain = "file.test"\n\n'
          '[[listen]]\nprotocol = "imap"\naddress = "127.0.0.1:10143"\ntls = "starttls"\n')
    env = clean_env(TERN_DATA_DIR=str(data), TERN_DOMAIN="env.test",
                    TERN_HOSTNAME="mail.env.test", TERN_LISTEN="smtp=0.0.0.0:25")
    r = run(["check-config"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "configuration ok: %s/tern.toml" % data
    # The file's keys win (domain, the whole listener list); what it does
    # not set stays as the variables say (hostname, data_dir).
    assert "domain file.test, hostname mail.env.test" in r.stdout
    assert "data_dir %s," % data in r.stdout
    assert "127.0.0.1:10143" in r.stdout and "0.0.0.0:25" not in r.stdout


def test_a_file_without_listeners_keeps_tern_listen(tmp_path):
    data = tmp_path / "data"
    write(data / "tern.toml", '[server]\nhostname = "mx.file.test"\n')
    env = clean_env(TERN_DATA_DIR=str(data), TERN_LISTEN="imaps=127.0.0.1:10993")
    r = run(["check-config"], env)
    assert r.returncode == 0, r.stderr
    assert re.search(r"listen imap +127\.0\.0\.1:10993 +tls=implicit", r.stdout)
    assert len(re.findall(r"^  listen ", r.stdout, re.M)) == 1
    assert "hostname mx.file.test" in r.stdout


def test_explicit_config_wins_over_the_data_dir_file(tmp_path):
    data = tmp_path / "data"
    write(data / "tern.toml", '[server]\ndomain = "data-dir.test"\n')
    other = write(tmp_path / "other.toml", '[server]\ndomain = "explicit.test"\n')
    env = clean_env(TERN_DATA_DIR=str(data))
    for args, e in ((["--config", str(other), "check-config"], env),
                    (["check-config"], dict(env, TERN_CONFIG=str(other)))):
        r = run(args, e)
        assert r.returncode == 0, r.stderr
        assert "domain explicit.test" in r.stdout
        assert r.stdout.splitlines()[0] == "configuration ok: %s" % other


def test_a_bad_data_dir_file_is_an_error_naming_it(tmp_path):
    data = tmp_path / "data"
    bad = write(data / "tern.toml", '[server]\nbogus = 1\n')
    r = run(["check-config"], clean_env(TERN_DATA_DIR=str(data)))
    assert r.returncode == 1
    assert "%s:2:" % bad in r.stderr and "unknown key 'server.bogus'" in r.stderr


@pytest.mark.parametrize("var,value,message", [
    ("TERN_LISTEN", "imaps=127.0.0.1", "TERN_LISTEN: imaps=\"127.0.0.1\": the address must be "
                                       "HOST:PORT"),
    ("TERN_LISTEN", "smtps=0.0.0.0:465", "TERN_LISTEN: unknown name \"smtps\""),
    ("TERN_LISTEN", "", "TERN_LISTEN is set but names no listener"),
    ("TERN_DOMAIN", "", "TERN_DOMAIN is set but empty"),
    ("TERN_LOG_LEVEL", "loud", "TERN_LOG_LEVEL must be one of debug, info, warn, error"),
])
def test_bad_variables_stop_every_command(tmp_path, var, value, message):
    env = clean_env(TERN_DATA_DIR=str(tmp_path / "data"), **{var: value})
    for args in (["serve"], ["check-config"], ["user", "list"], ["health"]):
        r = run(args, env, cwd=tmp_path)
        assert r.returncode == 1, (args, r.stdout, r.stderr)
        assert "tern: %s" % message in r.stderr, (args, r.stderr)
    assert not (tmp_path / "data").exists(), "nothing was started"


def test_listener_that_cannot_bind_is_reported(env_server, tmp_path):
    (port,) = free_ports(1)
    blocker = socket.socket()
    blocker.bind((HOST, port))
    blocker.listen(1)
    try:
        env = clean_env(TERN_DATA_DIR=str(tmp_path / "d"), TERN_LISTEN="smtp=%s:%d" % (HOST, port))
        r = run(["serve"], env, cwd=tmp_path)
        assert r.returncode == 1
        assert "%s:%d" % (HOST, port) in r.stderr and "in use" in r.stderr
    finally:
        blocker.close()


def test_wildcard_listener_is_not_loopback_only_and_health_reaches_it(env_server, tmp_path):
    http, smtp = free_ports(2)
    env = clean_env(TERN_DATA_DIR=str(tmp_path / "d"),
                    TERN_LISTEN="http=0.0.0.0:%d smtp=%s:%d" % (http, HOST, smtp))
    env_server.start(env, [http, smtp])
    r = run(["health"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("healthy: http 0.0.0.0:%d GET /healthz: HTTP/1.1 200" % http)
    assert "event=loopback_only" not in env_server.log()


def test_health_without_http_reads_a_greeting(env_server, tmp_path):
    imaps, smtp = free_ports(2)
    env = clean_env(TERN_DATA_DIR=str(tmp_path / "d"),
                    TERN_LISTEN="imaps=%s:%d smtp=%s:%d" % (HOST, imaps, HOST, smtp))
    env_server.start(env, [imaps, smtp])
    r = run(["health"], env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("healthy: smtp %s:%d: 220 " % (HOST, smtp))
    # Only implicit TLS: a connect is all it can do.
    r = run(["health"], clean_env(TERN_LISTEN="imaps=%s:%d" % (HOST, imaps)))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "healthy: imap %s:%d: connected (implicit TLS: no greeting read)\n" % (
        HOST, imaps)
    # IMAP's greeting, with the same server.
    r = run(["health", "--timeout", "1"], clean_env(TERN_LISTEN="imap=%s:%d" % (HOST, imaps)))
    assert r.returncode == 1, "a TLS listener sends no '* OK' in the clear"


def test_health_times_out_on_a_silent_listener(tmp_path):
    silent = socket.socket()
    silent.bind((HOST, 0))
    silent.listen(1)  # accepts in the kernel, never answers
    port = silent.getsockname()[1]
    try:
        t0 = time.monotonic()
        r = run(["health", "--timeout", "1"], clean_env(TERN_LISTEN="http=%s:%d" % (HOST, port)))
        took = time.monotonic() - t0
        assert r.returncode == 1
        assert "unhealthy: http %s:%d GET /healthz: Connection timed out" % (HOST, port) \
            in r.stderr
        assert took < 5
    finally:
        silent.close()


def test_health_arguments():
    r = run(["health", "--help"], clean_env())
    assert r.returncode == 0 and r.stdout.startswith("usage: tern [--config FILE] health")
    for args in (["--timeout"], ["--timeout", "0"], ["--timeout", "301"], ["--timeout", "5s"],
                 ["now"]):
        r = run(["health", *args], clean_env())
        assert r.returncode == 1, args
        assert r.stderr.startswith("tern health: "), r.stderr
    r = run(["help"], clean_env())
    assert "  health " in r.stdout
