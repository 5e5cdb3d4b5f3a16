"""COMPRESS=DEFLATE under a flood (issue 14, item 1).

A few hundred KB of deflated "a NOOP" lines inflate to tens of MB of
commands. Before the fix, conn inflated and ran all of them in one go,
without returning to the event loop: every listener stopped (SMTP
greetings included) until the session had worked through its input. Now
the filter's input is inflated in bounded slices, one per loop turn, and
not at all while the session cannot take input, so other clients are
served meanwhile and the flooding session's memory stays bounded."""
import socket
import threading
import time
import zlib

import pytest

from conftest import HOST, sanitized_build

USER = "alice@example.test"
PASSWORD = "correct horse 1"


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def read_line(sock):
    buf = b""
    while b"\r\n" not in buf:
        d = sock.recv(4096)
        if not d:
            raise EOFError("closed before a line")
        buf += d
    return buf.split(b"\r\n", 1)[0].decode()


def greeting_latency(port, prefix, timeout=10):
    """Seconds from connect to the greeting (timeout if none came)."""
    t0 = time.monotonic()
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        try:
            line = read_line(s)
        except socket.timeout:
            return time.monotonic() - t0
    took = time.monotonic() - t0
    assert line.startswith(prefix), line
    return took


def login_compressed(t):
    s = socket.create_connection((HOST, t.port("imap")), timeout=30)
    read_line(s)
    s.sendall(b'L LOGIN "%s" "%s"\r\n' % (USER.encode(), PASSWORD.encode()))
    buf = b""
    while b"L OK" not in buf:
        buf += s.recv(4096)
    s.sendall(b"C COMPRESS DEFLATE\r\n")
    buf = b""
    while b"C OK" not in buf:
        buf += s.recv(4096)
    return s


def flood_blocks(total_lines, per_block):
    """Deflated "a NOOP" lines, in blocks each ending with a sync flush."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"a NOOP\r\n" * per_block
    out = []
    for _ in range(total_lines // per_block):
        out.append(c.compress(block) + c.flush(zlib.Z_SYNC_FLUSH))
    return out


@pytest.mark.parametrize("reads_replies", [True, False], ids=["reading", "not-reading"])
def test_compress_flood_does_not_stall_other_clients(tern_factory, reads_replies):
    """A flooder that reads its replies is served a slice per loop turn; one
    that does not is held by its full output queue, and no more of its
    input is inflated."""
    # No greeting delay on the MX listener: the test measures the loop.
    t = tern_factory(extra_config="plaintext_loopback = true\n[smtp]\ngreet_delay_ms = 0\n")
    t.add_user(USER, PASSWORD)
    pid = t.proc.pid

    # A warm-up of everything the measurement uses.
    greeting_latency(t.port("smtp"), "220 ")
    greeting_latency(t.port("imap"), "* OK")
    flooder = login_compressed(t)
    time.sleep(0.3)
    base = rss_kb(pid)

    # 24M NOOPs (192 MB of commands) in ~1.8 MB of deflate: far more than
    # the server gets through while we measure, whatever the machine.
    blocks = flood_blocks(24 * 1024 * 1024, 1024 * 1024)
    sent = sum(len(b) for b in blocks)
    replies = {"bytes": 0}
    stop = threading.Event()

    def send():
        try:
            for b in blocks:
                flooder.sendall(b)
                if stop.is_set():
                    return
        except OSError:
            pass

    def drain():
        if not reads_replies:
            return
        d = zlib.decompressobj(-15)
        flooder.settimeout(0.2)
        while not stop.is_set():
            try:
                got = flooder.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not got:
                return
            replies["bytes"] += len(d.decompress(got))

    peak = {"rss": base}

    def sample():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], rss_kb(pid))
            time.sleep(0.02)

    threads = [threading.Thread(target=f, daemon=True) for f in (send, drain, sample)]
    for th in threads:
        th.start()
    try:
        time.sleep(0.5)  # the server is deep in the flood now
        smtp, imap = [], []
        for _ in range(5):
            smtp.append(greeting_latency(t.port("smtp"), "220 "))
            imap.append(greeting_latency(t.port("imap"), "* OK"))
            time.sleep(0.2)
        time.sleep(1.0)
        got = replies["bytes"]
        grown_mb = (peak["rss"] - base) / 1024.0
    finally:
        stop.set()
        flooder.close()
        for th in threads:
            th.join(5)

    print("flood: %d bytes deflated; greeting latency smtp max %.3f s, imap max %.3f s; "
          "rss base %d KiB, peak +%.1f MiB; flooder got %d bytes of replies"
          % (sent, max(smtp), max(imap), base, grown_mb, got))
    assert max(smtp) < 0.5, smtp
    assert max(imap) < 0.5, imap
    if not sanitized_build():
        assert grown_mb < 32, "RSS grew by %.1f MiB during the flood" % grown_mb
    # The flooding session itself is served too, in slices, not starved.
    if reads_replies:
        assert got > 0

    # The server is still healthy once the flooder is gone.
    assert greeting_latency(t.port("imap"), "* OK") < 5
