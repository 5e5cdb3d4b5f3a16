"""`tern serve` tells a service manager how it is doing over $NOTIFY_SOCKET
(sd_notify's protocol, lib/sd_notify.c): READY=1 once every listener
accepts, RELOADING=1 (with MONOTONIC_USEC) then READY=1 around SIGHUP,
STOPPING=1 when SIGTERM starts the shutdown. The manager here is a Python
AF_UNIX datagram socket, by path and in the abstract namespace."""
import os
import signal
import socket
import time

import pytest

from conftest import HOST, LISTENERS

WITH_HTTP = LISTENERS + [("http", "http", "none"), ("https", "http", "implicit")]


def notify_socket(kind, tmpdir):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if kind == "path":
        path = os.path.join(tmpdir, "notify.sock")
        s.bind(path)
        env = path
    else:
        name = "tern-test-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
        s.bind("\0" + name)
        env = "@" + name
    return s, env


def receive(s, timeout=15.0):
    """The next datagram as {VAR: value}, with its raw text."""
    s.settimeout(timeout)
    data = s.recv(4096).decode()
    fields = dict(line.split("=", 1) for line in data.split("\n") if line)
    return fields, data


def all_ports_accept(t):
    for name, port in t.ports.items():
        with socket.create_connection((HOST, port), timeout=2):
            pass


@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_ready_reload_stopping(tern_factory, monkeypatch, kind):
    t = tern_factory(start=False, listeners=WITH_HTTP)
    s, env = notify_socket(kind, t.dir)
    monkeypatch.setenv("NOTIFY_SOCKET", env)
    with s:
        t.start(wait=False)
        fields, raw = receive(s)
        # The first word from tern is READY=1, and by then every port accepts.
        assert fields.get("READY") == "1", raw
        all_ports_accept(t)
        assert "listeners" in fields.get("STATUS", ""), raw

        t.proc.send_signal(signal.SIGHUP)
        fields, raw = receive(s)
        assert fields.get("RELOADING") == "1", raw
        usec = int(fields["MONOTONIC_USEC"])
        now = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
        assert 0 < now - usec < 30e6, (now, usec)
        fields, raw = receive(s)
        assert fields.get("READY") == "1", raw
        all_ports_accept(t)

        t.proc.send_signal(signal.SIGTERM)
        fields, raw = receive(s)
        assert fields.get("STOPPING") == "1", raw
        assert "stopping" in fields.get("STATUS", ""), raw
        assert t.proc.wait(timeout=15) == 0
        # nothing more: READY=1 came once per start or reload
        s.settimeout(0.2)
        with pytest.raises(socket.timeout):
            s.recv(4096)


def test_notify_socket_missing_or_bad_is_not_fatal(tern_factory, monkeypatch):
    """A NOTIFY_SOCKET nobody listens on, or one that is no address at all,
    costs the messages, never the server."""
    for value in ("/nonexistent/notify.sock", "not-an-address", "@tern-nobody-listens"):
        t = tern_factory(start=False)
        monkeypatch.setenv("NOTIFY_SOCKET", value)
        t.start()
        r = t.cli("user", "list")
        assert r.returncode == 0, r.stderr
        t.proc.send_signal(signal.SIGHUP)
        assert t.stop() == 0
