"""INPROGRESS (RFC 9585): a long FETCH sends "* OK [INPROGRESS (tag done
goal)]" between its slices, none in its first second, at most one a
second after, never done == goal; a quick command sends none."""
import re
import socket
import time

from conftest import HOST, ssl_ctx
from test_imap_hardening import Raw, USER, PASSWORD, session, box  # noqa: F401

N = 200
BODY = ("x" * 76 + "\r\n") * 500  # about 39 KiB a message: 7.8 MB in all


def fill(r):
    for i in range(N):
        data = ("Subject: m%d\r\n\r\n" % i + BODY).encode()
        r.send("A%d APPEND INBOX {%d+}\r\n" % (i, len(data)))
        r.send(data + b"\r\n")
        assert r.until("A%d" % i)[-1].startswith("A%d OK" % i)


def slow_session(t):
    """A session with a small socket buffer: what the server writes
    beyond its output queue and the kernel's buffers (about 5 MB) waits
    for us to read, so a FETCH of 7.8 MB runs as long as we make it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(30)
    s.connect((HOST, t.port("imaps")))
    r = Raw.__new__(Raw)
    r.sock = ssl_ctx().wrap_socket(s, server_hostname="localhost")
    r.buf = b""
    r.greeting = r.line()
    r.login()
    return r


def long_fetch(r, tag, pause=1.5):
    """FETCH everything, read nothing for `pause` seconds, then all of it:
    (the bytes, the seconds it took, when each progress line arrived)."""
    start = time.monotonic()
    r.send("%s FETCH 1:* (BODY.PEEK[])\r\n" % tag)
    time.sleep(pause)
    data, arrivals = r.buf, []
    r.buf = b""
    end = b"\r\n%s OK" % tag.encode()
    while end not in data[-300:]:
        chunk = r.sock.recv(65536)
        assert chunk, "closed"
        tail = data[-200:]
        data += chunk
        arrivals += [time.monotonic() - start] * (tail + chunk).count(b"[INPROGRESS")
    return data, time.monotonic() - start, arrivals


def test_capability(box):
    r = session(box)
    assert "INPROGRESS" in r.cmd("c", "CAPABILITY")[0].split()


def test_long_fetch_reports_progress(box):
    fill(session(box))
    r = slow_session(box)
    r.ok("s", "SELECT INBOX")
    # a quick command: no progress
    out = r.cmd("q", "FETCH 1 (UID)")
    assert not any("INPROGRESS" in ln for ln in out), out

    data, elapsed, arrivals = long_fetch(r, "f1")
    assert data.count(b" FETCH (BODY[] {") == N
    seen = [(int(a), int(b)) for a, b in
            re.findall(rb'\r\n\* OK \[INPROGRESS \("f1" (\d+) (\d+)\)\] [^\r]*\r\n', data)]
    assert seen, "no INPROGRESS in %.2fs" % elapsed
    assert len(seen) == data.count(b"INPROGRESS")
    # the server's rate: none in the first second, then at most one a second
    assert arrivals[0] >= 1.0 and len(seen) <= elapsed, (elapsed, arrivals)
    for done, goal in seen:
        assert goal == N and 0 < done < goal, seen
    dones = [d for d, _ in seen]
    assert dones == sorted(dones) and len(set(dones)) == len(dones), seen
    # each stands between two whole FETCH responses
    for m in re.finditer(rb"\* OK \[INPROGRESS", data):
        assert data[m.start() - 3:m.start()] == b")\r\n", data[m.start() - 40:m.start()]

    # §4: a tag with "]" is given as NIL
    data, _, _ = long_fetch(r, "f]2")
    progress = re.findall(rb"\* OK \[INPROGRESS \((\S+) \d+ \d+\)\]", data)
    assert progress and set(progress) == {b"NIL"}, progress
    r.close()


# ---- STORE, COPY, MOVE, EXPUNGE: one store job each -------------------------
# The job counts what it has done (store/entries.h, struct store_progress)
# and a timer of the session reads it while the command waits. A job over
# thousands of messages takes far less than INPROGRESS's one second here, so
# the server runs with TERN_TEST_PROGRESS_MS=1 (progress.c: both intervals
# 1 ms, for tests only).

JOB_N = 16384  # 2**14: APPEND one message, then COPY 1:* doubles it


def progress_of(out, tag):
    return [(int(a), b) for a, b in
            (re.match(r'\* OK \[INPROGRESS \("%s" (\d+) (\d+|NIL)\)\] ' % re.escape(tag),
                      ln).groups() for ln in out if "INPROGRESS" in ln)]


def test_store_copy_move_expunge_report_progress(tern_factory, monkeypatch):
    monkeypatch.setenv("TERN_TEST_PROGRESS_MS", "1")
    t = tern_factory()
    t.add_user(USER, PASSWORD)
    r = session(t)
    r.ok("c", "CREATE Other")
    r.ok("c2", "CREATE Third")
    data = b"Subject: x\r\n\r\nbody\r\n"
    r.send("a APPEND INBOX {%d+}\r\n" % len(data))
    r.send(data + b"\r\n")
    assert r.until("a")[-1].startswith("a OK")
    r.ok("s", "SELECT INBOX")
    count = 1
    while count < JOB_N:
        out = r.ok("d", "COPY 1:* INBOX")
        count = [int(ln.split()[1]) for ln in out if ln.endswith(" EXISTS")][-1]

    def check(tag, command, goal):
        out = r.cmd(tag, command)
        assert out[-1].startswith(tag + " OK"), out[-3:]
        seen = progress_of(out, tag)
        assert seen, "no INPROGRESS for %s" % command
        assert len(seen) == sum("INPROGRESS" in ln for ln in out)
        for done, g in seen:
            assert g == "NIL" or (int(g) == goal and 0 <= done < goal), seen
        assert any(g != "NIL" and 0 < done < goal for done, g in seen), seen
        dones = [d for d, _ in seen]
        assert dones == sorted(dones), seen
        return out

    check("st", "UID STORE 1:* +FLAGS.SILENT (\\Flagged)", JOB_N)
    check("cp", "UID COPY 1:* Other", JOB_N)
    check("mv", "UID MOVE 1:* Third", 2 * JOB_N)  # copy, then expunge: 2n
    r.ok("s2", "SELECT Other")
    r.ok("del", "STORE 1:* +FLAGS.SILENT (\\Deleted)")
    check("ex", "EXPUNGE", JOB_N)
    r.close()


def test_quick_store_copy_expunge_send_none(box):
    r = session(box)
    r.ok("c", "CREATE Other")
    data = b"Subject: x\r\n\r\nbody\r\n"
    r.send("a APPEND INBOX {%d+}\r\n" % len(data))
    r.send(data + b"\r\n")
    assert r.until("a")[-1].startswith("a OK")
    r.ok("s", "SELECT INBOX")
    for tag, command in [("st", "STORE 1 +FLAGS (\\Deleted)"), ("cp", "COPY 1 Other"),
                         ("mv", "MOVE 1 Other"), ("s2", "SELECT Other"),
                         ("ex", "EXPUNGE")]:
        out = r.cmd(tag, command)
        assert out[-1].startswith(tag + " OK"), out
        assert not any("INPROGRESS" in ln for ln in out), out
