"""Replay chasquid's SMTP dialog scripts (../shared/testdata/smtp-dialogs,
incl. the SMTP smuggling cases) against tern, comparing reply codes.

The scripts expect chasquid's wording; we compare the three-digit code, and
where tern deliberately answers with a different code the difference is
listed in DIFFERENT with the reason."""
import glob
import os
import re
import socket

import pytest

from conftest import SHARED, ssl_ctx
from smtputil import inbox_messages, strip_trace

DIALOGS = os.path.join(SHARED, "testdata", "smtp-dialogs", "chasquid")

# No Debian package ships chasquid's scripts: without ../shared (a plain
# clone) the module is skipped, on one "SKIPPED ... test_smtp_dialogs:" line.
if not os.path.isdir(DIALOGS):
    pytest.skip(f"test_smtp_dialogs: {DIALOGS} missing (set TERN_SHARED)",
                allow_module_level=True)

# (script, n-th expectation, 0-based) -> tern's code, and why.
DIFFERENT = {
    # chasquid hangs up with 521 on a bare LF; tern (bare_newline =
    # "normalize", the default) reads to the real <CRLF>.<CRLF> and takes
    # the bare-LF lines as lines of one message (test_smuggling_is_data).
    ("bad_data_dot.cmy", 5): 250,
    ("bad_data_dot_2.cmy", 5): 250,
    # too big is decided before the bare-LF verdict
    ("bad_data_dot_on_message_too_big.cmy", 5): 552,
    # a bad argument is a syntax error (501), not an unknown command (500)
    ("bad_mail_from.cmy", 2): 501,
    ("bad_mail_from.cmy", 3): 501,
    ("bad_rcpt_to.cmy", 3): 501,
    ("bad_rcpt_to.cmy", 4): 501,
    # non-ASCII without SMTPUTF8: RFC 6531's 553 5.6.7
    ("bad_rcpt_to.cmy", 13): 553,
    # over-long line: 500 5.5.6 (RFC 5321 4.5.3.1.4 / 3463)
    ("line_too_long.cmy", 1): 500,
    # unknown mechanism: RFC 4954's 504 5.5.4
    ("auth_multi_dialog.cmy", 2): 504,
    # tern sends the third error's own 501, then 421
    ("auth_too_many_failures.cmy", 4): 501,
}


@pytest.fixture(scope="module")
def chasquid_srv(request):
    import tempfile
    from conftest import Tern
    d = tempfile.mkdtemp(prefix="tern-dialogs-")
    t = Tern(d, extra_config="[smtp]\nmax_message_size = 1048576\nmax_errors = 3\n")
    t.start()
    t.add_domain("testserver")
    t.add_user("user@testserver", "secretpassword")
    yield t
    t.stop()


def run_script(t, name):
    sock = None
    buf = b""
    n = 0

    def readline():
        nonlocal buf
        while b"\r\n" not in buf:
            d = sock.recv(65536)
            if not d:
                raise ConnectionError("closed")
            buf += d
        ln, buf = buf.split(b"\r\n", 1)
        return ln.decode("utf-8", "replace")

    with open(os.path.join(DIALOGS, name), encoding="utf-8") as f:
        for raw in f:
            raw = raw.rstrip("\n")
            if not raw.startswith("c "):
                continue
            parts = raw.split(" ", 2)
            op = parts[1]
            arg = parts[2] if len(parts) > 2 else ""
            if op in ("tcp_connect", "tls_connect"):
                if sock:
                    sock.close()
                port = t.port("smtp" if op == "tcp_connect" else "submissions")
                sock = socket.create_connection((t.host, port), timeout=10)
                if op == "tls_connect":
                    sock = ssl_ctx().wrap_socket(sock, server_hostname="localhost")
                buf = b""
            elif op == "close":
                sock.close()
                sock = None
            elif op == "->":
                sock.sendall(arg.encode() + b"\r\n")
            elif op == ".>":
                sock.sendall(arg.encode())
            elif op == "~>":
                # a Python string expression from the trusted test data
                sock.sendall(eval(arg, {"__builtins__": {}}).encode())
            elif op in ("<-", "<~"):
                ln = readline()
                want = int(arg[:3])
                want = DIFFERENT.get((name, n), want)
                assert ln[:3] == str(want), "%s expectation %d: got %r, chasquid wants %r" % (
                    name, n, ln, arg)
                n += 1
            elif op == "<...":
                while not re.match(re.escape(arg[:3]) + " ", readline()):
                    pass
                n += 1
    if sock:
        sock.close()


SCRIPTS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(DIALOGS, "*.cmy")))


@pytest.mark.parametrize("name", SCRIPTS)
def test_dialog(chasquid_srv, name):
    run_script(chasquid_srv, name)


@pytest.mark.parametrize("name,want", [
    ("bad_data_dot.cmy", b"Muahahahaha\r\n\r\n\r\nThat was a bad line ending, "
                         b"this is a good one.\r\nxxx\r\n"),
    ("bad_data_dot_2.cmy", b"Muahahahaha\r\n\r\nxxx\r\n\r\nThat was a bad line ending, "
                           b"this is a good one.\r\n\r\n"),
])
def test_smuggling_is_data(chasquid_srv, name, want):
    """The bad "end of data" (bare LF) of the smuggling scripts is a line of
    the one message, and what follows it is the rest of that message."""
    before = len(inbox_messages(chasquid_srv, "user@testserver"))
    run_script(chasquid_srv, name)
    got = inbox_messages(chasquid_srv, "user@testserver")
    assert len(got) == before + 1
    assert strip_trace(got[-1]).endswith(b"Subject: I've come to haunt you\r\n\r\n" + want)


def test_dot_stuffing_verify(chasquid_srv):
    run_script(chasquid_srv, "data_dot_stuffing.cmy")
    with open(os.path.join(DIALOGS, "data_dot_stuffing.cmy.verify"), "rb") as f:
        want = f.read().replace(b"\n", b"\r\n")
    got = [strip_trace(m) for m in inbox_messages(chasquid_srv, "user@testserver")]
    assert want in got
