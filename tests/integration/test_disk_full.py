"""A full disk (issue 14, item 10): new mail is refused for later with
RFC 3463's "mail system full" (452 4.3.1), the user can still make room
(STORE \\Deleted, EXPUNGE) because tern keeps a disk reserve that it gives
back when the disk fills, and the room made takes mail again. The data
directory is a small tmpfs of the test's own, so this needs root (mount);
without it the test is skipped. RESERVE=0 in the environment runs it
without the reserve, to see it fail."""
import imaplib
import os
import smtplib
import subprocess

import pytest

from conftest import ssl_ctx

LISTENERS = [("smtp", "smtp", "none"), ("imap", "imap", "starttls")]


@pytest.fixture
def small_disk(tmp_path):
    mnt = tmp_path / "data"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", str(mnt)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: %s" % r.stderr.decode().strip())
    yield str(mnt)
    subprocess.run(["umount", "-l", str(mnt)])


def message(i, size=1024 * 1024):
    head = ("From: sender@remote.test\r\nTo: user@example.test\r\n"
            "Subject: filler %d\r\nMessage-ID: <fill%d@remote.test>\r\n\r\n" % (i, i))
    line = "%05d the quick brown fox jumps over the lazy dog 0123456789\r\n" % i
    return (head + line * ((size - len(head)) // len(line))).encode()


def test_full_disk_refuses_mail_with_452_and_still_expunges(tern_factory, small_disk):
    t = tern_factory(listeners=LISTENERS, start=False, server={"disk_reserve": int(os.environ.get("RESERVE", 20971520))})
    t.data_dir = small_disk
    t.write_config()
    t.start()
    t.add_user("user@example.test", "Passw0rd-for-the-user")
    codes = []
    with smtplib.SMTP(t.host, t.port("smtp"), timeout=60) as s:
        s.ehlo("sender.test")
        for i in range(200):
            code, resp = s.mail("sender@remote.test")
            assert code == 250
            code, resp = s.rcpt("user@example.test")
            assert code == 250
            code, resp = s.data(message(i))
            codes.append((code, resp))
            if code != 250:
                break
            s.rset()
    code, resp = codes[-1]
    assert code == 452 and resp.startswith(b"4.3.1"), codes[-3:]
    assert len(codes) > 10, "the disk filled too early: %d messages" % len(codes)
    assert not any(c == 451 for c, _ in codes)

    c = imaplib.IMAP4(t.host, t.port("imap"))
    c.starttls(ssl_ctx())
    c.login("user@example.test", "Passw0rd-for-the-user")
    typ, data = c.select("INBOX")
    assert typ == "OK"
    n = int(data[0])
    assert n == len(codes) - 1
    typ, data = c.store("1:%d" % (n // 2), "+FLAGS", "(\\Deleted)")
    assert typ == "OK", data
    typ, data = c.expunge()
    assert typ == "OK", data
    assert len(data) == n // 2
    typ, data = c.select("INBOX")
    assert int(data[0]) == n - n // 2
    c.logout()
    assert "event=disk_full reserve_released=20971520" in t.logs()
    # The expunged messages' room takes mail again.
    with smtplib.SMTP(t.host, t.port("smtp"), timeout=60) as s:
        s.sendmail("sender@remote.test", ["user@example.test"], message(9999))
