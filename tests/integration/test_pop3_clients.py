"""POP3 with real clients: Debian's fetchmail (keep twice, then delete) and
curl (pop3:// with STLS and pop3s://, list and retrieve).

Messages go into INBOX through put_message() (see test_pop3.py) so these
tests do not depend on SMTP.
"""
import os
import shutil
import subprocess

import pytest

from conftest import HOST
from test_pop3 import PASSWORD, USER, inbox, make_message, put_message, wait_for

needs_fetchmail = pytest.mark.skipif(shutil.which("fetchmail") is None,
                                     reason="fetchmail not installed (apt-get install fetchmail)")
needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


def run_fetchmail(t, tmp, implicit, keep):
    out = os.path.join(tmp, "mbox")
    rc_path = os.path.join(tmp, "fetchmailrc")
    port = t.port("pop3s" if implicit else "pop3")
    tls = "ssl" if implicit else "sslproto 'TLS1.2+'"
    with open(rc_path, "w") as f:
        f.write('set no bouncemail\n'
                'set no syslog\n'
                'poll %s with proto POP3 port %d uidl\n'
                '  user "%s" there with password "%s" is "%s" here\n'
                '  %s no sslcertck %s\n'
                '  mda "cat >> %s"\n'
                % (HOST, port, USER, PASSWORD, os.environ.get("USER", "root"), tls,
                   "keep" if keep else "nokeep", out))
    os.chmod(rc_path, 0o600)
    env = dict(os.environ, HOME=tmp, FETCHMAILHOME=tmp)
    r = subprocess.run(["fetchmail", "-f", rc_path, "-i", os.path.join(tmp, "fetchids"),
                        "--nodetach", "-v", "--pidfile", os.path.join(tmp, "pid")],
                       capture_output=True, text=True, timeout=60, env=env)
    got = open(out, "rb").read() if os.path.exists(out) else b""
    return r, got


@needs_fetchmail
@pytest.mark.parametrize("implicit", [False, True], ids=["stls", "pop3s"])
def test_fetchmail_keep_twice_then_delete(box, tmp_path, implicit):
    tmp = str(tmp_path)
    for i in range(5):
        put_message(box, USER, make_message(i))
    r, got = run_fetchmail(box, tmp, implicit, keep=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert got.count(b"Subject: message ") == 5
    assert len(inbox(box)) == 5

    # Second run in keep mode: UIDL is stable, so nothing is new.
    r, got2 = run_fetchmail(box, tmp, implicit, keep=True)
    assert r.returncode == 1, r.stdout + r.stderr  # 1 = no mail
    assert got2 == got

    # One new message: only that one is fetched.
    put_message(box, USER, make_message(99))
    r, got3 = run_fetchmail(box, tmp, implicit, keep=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert got3.count(b"Subject: message ") == 6
    assert b"Subject: message 99" in got3[len(got):]

    # Delete mode. fetchmail skips messages its id file says it has seen,
    # so start from an empty id file: it fetches all six and DELEs each,
    # and tern applies the deletions at QUIT.
    os.unlink(os.path.join(tmp, "fetchids"))
    os.unlink(os.path.join(tmp, "mbox"))
    r, got4 = run_fetchmail(box, tmp, implicit, keep=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert got4.count(b"Subject: message ") == 6
    wait_for(lambda: len(inbox(box)) == 0, what="fetchmail deletions")


def curl(t, url, *extra):
    return subprocess.run(["curl", "-sS", "--max-time", "30", "-k", "-u",
                           "%s:%s" % (USER, PASSWORD), *extra, url],
                          capture_output=True, timeout=60)


@needs_curl
@pytest.mark.parametrize("scheme", ["pop3", "pop3s"])
def test_curl_list_and_retrieve(box, scheme):
    msgs = [make_message(i, extra=b".dotted line\r\n") for i in range(1, 4)]
    for m in msgs:
        put_message(box, USER, m)
    port = box.port("pop3s" if scheme == "pop3s" else "pop3")
    extra = ["--ssl-reqd"] if scheme == "pop3" else []
    base = "%s://%s:%d/" % (scheme, HOST, port)
    r = curl(box, base, *extra)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split(b"\r\n")[:-1] == [b"%d %d" % (i + 1, len(m))
                                             for i, m in enumerate(msgs)]
    r = curl(box, base + "2", *extra)
    assert r.returncode == 0, r.stderr
    assert r.stdout == msgs[1]
    # TOP through a custom request.
    r = curl(box, base, "-X", "TOP 3 0", *extra)
    assert r.returncode == 0, r.stderr
    assert r.stdout.endswith(b"\r\n\r\n") and b"Subject: message 3" in r.stdout


@needs_curl
def test_curl_plaintext_refused(box):
    # Without TLS, curl's login must fail: tern does not take passwords in
    # the clear.
    put_message(box, USER, make_message(1))
    r = subprocess.run(["curl", "-sS", "--max-time", "30", "-u", "%s:%s" % (USER, PASSWORD),
                        "pop3://%s:%d/" % (HOST, box.port("pop3"))],
                       capture_output=True, timeout=60)
    assert r.returncode != 0
