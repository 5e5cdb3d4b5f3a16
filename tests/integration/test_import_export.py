"""tern export / tern import against the real binary.

Round trips (export one account, import into another, compare over IMAP:
FETCH BODY[] byte for byte, FLAGS, INTERNALDATE) for Maildir and mbox,
with a body holding "From me" and ">From" lines, a 5 MB message,
keywords and nested folders with non-ASCII names; the exports read by
Python's own mailbox.Maildir and mailbox.mbox; a real Dovecot Maildir
(filled, flagged and expunged by a private Dovecot over IMAP) imported
with its UIDs, UIDVALIDITY and UIDNEXT; and the error paths.
"""
import base64
import email.utils
import imaplib
import mailbox
import os
import pathlib
import pty
import pwd
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import HOST, free_port, sanitized_build, ssl_ctx, wait_port

A = "alice@example.test"
B = "bob@example.test"
PW = "export-secret-1"

NESTED = "Projekte/Größe/Ünter"
DATES = ['"03-Jan-1996 01:05:34 +0000"', '"14-Feb-2010 23:59:01 +0100"',
         '"01-Jul-2003 10:52:37 +0200"', '"29-Feb-2024 12:00:00 -0700"']


def mutf7(s):
    """IMAP's modified UTF-7 for mailbox names (RFC 3501 5.1.3)."""
    out, run = [], []

    def flush():
        if run:
            b = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(b).decode().rstrip("=").replace("/", ",") + "-")
            run.clear()
    for ch in s:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


def q(name):
    return '"%s"' % mutf7(name)


def message(subject, body):
    return ("From: Alice <alice@example.org>\r\nTo: bob@example.test\r\nSubject: %s\r\n"
            "Date: Tue, 1 Jul 2003 10:52:37 +0200\r\nMessage-ID: <%s@example.org>\r\n\r\n%s"
            % (subject, re.sub(r"\W", "", subject), body)).encode()


BODY_FROM = ("From me, a line that mbox must quote\r\n>From a quoted one\r\n"
             ">>From deeper\r\nFrom\r\n\r\nFrom after an empty line\r\nend\r\n")


def big_message():
    line = base64.b64encode(os.urandom(57)).decode() + "\r\n"  # 78 bytes
    body = line * (5 * 1024 * 1024 // len(line) + 1)
    return ("From: x@example.org\r\nSubject: five megabytes\r\nMIME-Version: 1.0\r\n"
            "Content-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n" + body).encode()


def login(t, user):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx(), timeout=60)
    m.login(user, PW)
    return m


FETCH_RE = re.compile(rb"UID (\d+)|FLAGS \(([^)]*)\)|INTERNALDATE \"([^\"]+)\"")


def snapshot(m, name):
    """[(uid, flags, internaldate as unix time, body)] of a mailbox, by UID,
    with its UIDVALIDITY and UIDNEXT."""
    typ, _ = m.select(q(name), readonly=True)
    assert typ == "OK", name
    uidvalidity = int(m.untagged_responses.get("UIDVALIDITY", [b"0"])[-1])
    uidnext = int(m.untagged_responses.get("UIDNEXT", [b"0"])[-1])
    typ, data = m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
    assert typ == "OK"
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        uid = flags = idate = None
        for mt in FETCH_RE.finditer(item[0]):
            if mt.group(1):
                uid = int(mt.group(1))
            elif mt.group(2) is not None:
                flags = frozenset(f for f in mt.group(2).decode().split() if f != "\\Recent")
            elif mt.group(3):
                idate = email.utils.mktime_tz(
                    email.utils.parsedate_tz(mt.group(3).decode().replace("-", " ", 2)))
        if uid is not None:
            out.append((uid, flags, idate, item[1]))
    out.sort()
    return uidvalidity, uidnext, out


def content(snap):
    """What a round trip keeps (UIDs are new): flags, date, bytes, in order."""
    return [(f, d, b) for _, f, d, b in snap[2]]


@pytest.fixture
def two(tern):
    tern.add_user(A, PW)
    tern.add_user(B, PW)
    return tern


def fill(t):
    """Alice's mail: INBOX, Sent, a nested non-ASCII folder and its parent."""
    m = login(t, A)
    assert m.create(q(NESTED))[0] == "OK"
    msgs = [
        ("INBOX", message("from lines", BODY_FROM), r"(\Seen \Flagged $Label1 Work)", DATES[0]),
        ("INBOX", big_message(), r"(\Answered \Draft)", DATES[1]),
        ("INBOX", message("plain", "hello\r\n"), None, DATES[2]),
        ("Sent", message("sent one", "sent\r\n"), r"(\Seen)", DATES[3]),
        (NESTED, message("nested", "Grüße\r\n".encode().decode("latin-1")),
         r"(\Deleted Junk $Label1)", DATES[1]),
        (NESTED, message("nested two", "From the start\r\n"), r"(\Seen NonJunk)", DATES[2]),
        ("Projekte", message("parent", "x\r\n"), r"(\Flagged)", DATES[0]),
    ]
    for box, data, flags, date in msgs:
        typ, resp = m.append(q(box), flags, date, data)
        assert typ == "OK", resp
    m.logout()
    return ["INBOX", "Sent", "Projekte", "Projekte/Größe", NESTED]


def run_ok(t, *args):
    r = t.cli(*args)
    assert r.returncode == 0, r.stderr
    return r


@pytest.mark.parametrize("fmt", ["maildir", "mbox"])
def test_round_trip(two, tmp_path, fmt):
    t = two
    boxes = fill(t)
    out = str(tmp_path / "export")
    r = run_ok(t, "export", A, "--format", fmt, out)
    assert re.search(r"exported 7 messages \(\d+ bytes\) from \d+ mailboxes", r.stdout), r.stdout
    r = run_ok(t, "import", B, "--format", fmt, out)
    assert "imported 7 messages" in r.stdout, r.stdout
    r = t.cli("verify")  # refcounts, UIDs against UIDNEXT, MODSEQs, UIDVALIDITY unique
    assert r.returncode == 0, r.stdout + r.stderr
    ma, mb = login(t, A), login(t, B)
    for box in boxes:
        sa, sb = snapshot(ma, box), snapshot(mb, box)
        assert content(sa) == content(sb), box
    # the 5 MB message and the "From " lines came back byte for byte
    inbox = content(snapshot(mb, "INBOX"))
    assert len(inbox[1][2]) > 5 * 1024 * 1024
    assert inbox[0][2].endswith(BODY_FROM.encode())
    ma.logout()
    mb.logout()


def test_export_read_by_python_maildir(two, tmp_path):
    t = two
    fill(t)
    out = str(tmp_path / "md")
    run_ok(t, "export", A, "--format", "maildir", out)
    md = mailbox.Maildir(out, factory=None, create=False)
    got = sorted((m["Subject"], m.get_flags(), int(m.get_date())) for m in md)
    assert got == sorted([
        ("from lines", "FSab", 820631134),  # a, b: $Label1, Work
        ("five megabytes", "DR", 1266188341),
        ("plain", "", 1057049557),
    ])
    one = [m for m in md if m["Subject"] == "from lines"][0]
    assert one.get_payload().replace("\n", "\r\n") == BODY_FROM
    folders = md.list_folders()
    # Maildir++: ".Projekte.Gr&APYA3w-e.&ANw-nter", Dovecot's spelling
    enc = "Projekte.Gr&APYA3w-e.&ANw-nter"
    assert enc == ".".join(mutf7(level) for level in NESTED.split("/"))
    assert enc in folders, folders
    nested = md.get_folder(enc)
    kw = open(os.path.join(out, "." + enc, "dovecot-keywords")).read()
    names = dict(line.split(" ", 1) for line in kw.splitlines())
    flags = {m["Subject"]: m.get_flags() for m in nested}
    letters = {v: chr(ord("a") + int(k)) for k, v in names.items()}
    assert flags["nested"] == "T" + "".join(sorted(letters[k] for k in ("Junk", "$Label1")))
    assert flags["nested two"] == "S" + letters["NonJunk"]


def test_export_read_by_python_mbox(two, tmp_path):
    t = two
    fill(t)
    out = str(tmp_path / "mb")
    run_ok(t, "export", A, "--format", "mbox", out)
    assert os.path.exists(os.path.join(out, "Projekte", "Größe", "Ünter.mbox"))
    box = mailbox.mbox(os.path.join(out, "INBOX.mbox"), create=False)
    msgs = list(box)
    assert [m["Subject"] for m in msgs] == ["from lines", "five megabytes", "plain"]
    assert [set(m.get_flags()) for m in msgs] == [set("ROF"), set("OAT"), set("O")]
    assert msgs[0]["X-Keywords"] == "$Label1 Work"
    # the From_ line carries the internal date (UTC asctime)
    assert msgs[0].get_from().endswith("Wed Jan  3 01:05:34 1996")
    # mboxrd: the body's From lines are quoted once more on disk
    assert ">From me, a line" in msgs[0].get_payload()
    assert ">>From a quoted one" in msgs[0].get_payload()


def test_mbox_by_hand_and_mailbox_option(two, tmp_path):
    """An mbox another tool wrote: Status/X-Status/X-Keywords become flags
    and keywords (and are dropped), the From line's date the internal date,
    LF becomes CRLF; --mailbox names (and creates) the target."""
    t = two
    p = tmp_path / "mutt.mbox"
    p.write_bytes(b"From someone@example.org Sat Jan  3 01:05:34 1996\n"
                  b"Subject: one\nStatus: RO\nX-Status: AD\nX-Keywords: todo, later\n\n"
                  b">From here\nbody\n\n"
                  b"From x Sun Feb  4 01:05:34 +0100 2001\nSubject: two\n\nbody2\n")
    r = run_ok(t, "import", B, "--format", "mbox", str(p), "--mailbox", "Alt/Mutt")
    assert "imported 2 messages" in r.stdout
    m = login(t, B)
    _, _, s = snapshot(m, "Alt/Mutt")
    assert [x[3] for x in s] == [b"Subject: one\r\n\r\nFrom here\r\nbody\r\n",
                                 b"Subject: two\r\n\r\nbody2\r\n"]
    assert s[0][1] == {"\\Seen", "\\Answered", "\\Deleted", "todo", "later"}
    assert s[0][2] == 820631134 and s[1][2] == 981245134
    m.logout()


def test_progress_bar_on_a_terminal(two, tmp_path):
    t = two
    fill(t)
    out = str(tmp_path / "md")
    run_ok(t, "export", A, "--format", "maildir", out)
    master, slave = pty.openpty()
    r = subprocess.run([os.environ.get("TERN_BIN", "tern"), "--config", t.config_path, "import",
                        B, "--format", "maildir", out], stderr=slave, stdout=subprocess.PIPE,
                       timeout=60)
    os.close(slave)
    seen = b""
    try:
        while True:
            chunk = os.read(master, 4096)
            if not chunk:
                break
            seen += chunk
    except OSError:
        pass
    os.close(master)
    assert r.returncode == 0
    assert b"\rimport" in seen.replace(b"\033[K", b"").replace(b"\r\r", b"\r") or \
        b"import [" in seen, seen
    assert b"imported 7 messages" in r.stdout


# ---------------------------------------------------------------- errors

def test_errors(two, tmp_path):
    t = two
    fill(t)
    out = tmp_path / "md"
    r = t.cli("export", "nobody@example.test", "--format", "mbox", str(out))
    assert r.returncode == 1 and "no account nobody@example.test" in r.stderr
    r = t.cli("export", A, "--format", "tar", str(out))
    assert r.returncode == 2 and "unknown format 'tar'" in r.stderr
    r = t.cli("import", A, "--format", "pst", str(out))
    assert r.returncode == 2 and "unknown format 'pst'" in r.stderr
    r = t.cli("import", A, str(out))
    assert r.returncode == 2 and "--format" in r.stderr
    r = t.cli("export", A, "--mailbox", "Nope", "--format", "mbox", str(out))
    assert r.returncode == 1 and "no mailbox Nope" in r.stderr
    run_ok(t, "export", A, "--format", "maildir", str(out))
    r = t.cli("export", A, "--format", "maildir", str(out))
    assert r.returncode == 1 and "refusing to overwrite" in r.stderr
    r = t.cli("import", "nobody@example.test", "--format", "maildir", str(out))
    assert r.returncode == 1 and "no account" in r.stderr
    r = t.cli("import", B, "--format", "maildir", str(tmp_path / "missing"))
    assert r.returncode == 1 and "missing" in r.stderr
    # not an mbox file: named, nothing stored
    bad = tmp_path / "notes.txt"
    bad.write_text("Dear diary,\nFrom today on...\n")
    r = t.cli("import", B, "--format", "mbox", str(bad))
    assert r.returncode == 1 and "notes.txt: not an mbox file" in r.stderr, r.stderr
    # a Dovecot import into a mailbox that has mail: refused before writing
    r = t.cli("import", A, "--format", "dovecot", str(out))
    assert r.returncode == 1 and "already has 3 messages" in r.stderr, r.stderr
    assert "nothing was imported" in r.stderr


def test_malformed_uidlist(two, tmp_path):
    t = two
    fill(t)
    out = tmp_path / "md"
    run_ok(t, "export", A, "--format", "maildir", str(out))
    ul = out / "dovecot-uidlist"
    good = ul.read_text()
    m = login(t, B)
    before = snapshot(m, "INBOX")
    for text, what in [("garbage\n", "line 1: not a dovecot-uidlist header"),
                       ("3 V123\n", "line 1: not a dovecot-uidlist header"),
                       (good + "x :name\n", "line 5: malformed"),
                       (good + "2 :1.M2P3.tern\n", "line 5: UID not above"),
                       ("", "empty")]:
        ul.write_text(text)
        r = t.cli("import", B, "--format", "dovecot", str(out))
        assert r.returncode == 1, text
        assert "dovecot-uidlist: " + what in r.stderr, r.stderr
        assert "nothing was imported" in r.stderr
    ul.unlink()
    r = t.cli("import", B, "--format", "dovecot", str(out))
    assert r.returncode == 1 and "dovecot-uidlist" in r.stderr and "--format maildir" in r.stderr
    assert snapshot(m, "INBOX") == before
    m.logout()


def test_vanished_and_unreadable_files(two, tmp_path):
    """A file that vanished (a dangling link) or cannot be read as a message
    (a directory) stops the import with its name; the batch read before it
    is stored whole, and IMAP sees a consistent mailbox."""
    t = two
    fill(t)
    out = tmp_path / "md"
    run_ok(t, "export", A, "--format", "maildir", str(out), "--mailbox", "INBOX")
    cur = out / "cur"
    os.symlink(str(tmp_path / "gone"), str(cur / "9999999999.Mx.host:2,S"))
    r = t.cli("import", B, "--format", "maildir", str(out), "--mailbox", "Imp")
    assert r.returncode == 1
    assert "9999999999.Mx.host:2,S: vanished while importing" in r.stderr, r.stderr
    assert "3 messages were imported before the error" in r.stderr
    os.unlink(str(cur / "9999999999.Mx.host:2,S"))
    os.mkdir(str(cur / "9999999999.My.host:2,"))
    r = t.cli("import", B, "--format", "maildir", str(out), "--mailbox", "Imp2")
    assert r.returncode == 1 and "My.host:2,: not a regular file" in r.stderr, r.stderr
    m = login(t, B)
    _, _, s = snapshot(m, "Imp")
    assert [x[0] for x in s] == [1, 2, 3]
    m.logout()


# ---------------------------------------------------------------- Dovecot

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {dir}/run
state_dir = {dir}/state
instance_name = dovecot-import-{port}
log_path = {dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 1
mail_location = maildir:{dir}/mail/%u
passdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
userdb {{
  driver = passwd-file
  args = {dir}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture
def dovecot():
    if not shutil.which("dovecot") or not shutil.which("doveadm"):
        print("SKIPPED: test_import_export dovecot: dovecot-imapd is not installed")
        pytest.skip("SKIPPED: dovecot-imapd is not installed (Debian: dovecot-imapd)")
    # not under pytest's 0700 tmp_path: Dovecot's processes run as other users
    d = pathlib.Path(tempfile.mkdtemp(prefix="tern-dovecot-"))
    os.chmod(str(d), 0o755)
    for sub in ("run", "state", "mail"):
        (d / sub).mkdir(parents=True)
    nobody = pwd.getpwnam("nobody")
    os.chown(str(d / "mail"), nobody.pw_uid, nobody.pw_gid)
    port = free_port()
    (d / "passwd").write_text("dave:{PLAIN}%s:%d:%d::%s::\n" % (
        PW, nobody.pw_uid, nobody.pw_gid, d / "mail" / "dave"))
    conf = d / "dovecot.conf"
    conf.write_text(DOVECOT_CONF.format(dir=d, port=port))
    log = open(str(d / "stderr"), "ab")
    proc = subprocess.Popen(["dovecot", "-F", "-c", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log)
    try:
        wait_port(HOST, port, proc=proc)
    except Exception:
        proc.kill()
        raise

    class D:
        pass
    dv = D()
    dv.port, dv.maildir, dv.proc = port, str(d / "mail" / "dave"), proc

    def stop():
        if proc.poll() is None:
            subprocess.run(["doveadm", "-c", str(conf), "stop"], capture_output=True,
                           timeout=60)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    dv.stop = stop
    yield dv
    stop()
    log.close()
    shutil.rmtree(str(d), ignore_errors=True)


def test_import_dovecot_keeps_uids(dovecot, tern_factory, tmp_path):
    dv = dovecot
    m = imaplib.IMAP4(HOST, dv.port, timeout=60)
    m.login("dave", PW)
    typ, data = m.list()
    sep = re.search(rb'\) "(.)"', data[0]).group(1).decode()
    nested = "Archiv" + sep + "Ältere"
    assert m.create(q(nested))[0] == "OK"
    for i in range(8):
        flags = [None, r"(\Seen)", r"(\Flagged $Label1)", r"(\Answered Work)"][i % 4]
        body = BODY_FROM if i == 0 else "body %d\r\n" % i
        assert m.append("INBOX", flags, DATES[i % 4], message("dovecot %d" % i, body))[0] == "OK"
    for i in range(3):
        assert m.append(q(nested), r"(\Draft Later)", DATES[i], message("old %d" % i, "x\r\n"))[0] \
            == "OK"
    m.select("INBOX")
    m.uid("STORE", "5", "+FLAGS", r"(\Seen Junk $Label1)")
    # gaps: UIDs 2 and 4 go, and the last one, so UIDNEXT is above max UID + 1
    m.uid("STORE", "2,4,8", "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.uid("STORE", "6", "+FLAGS", r"(\Deleted)")  # stays, flagged \Deleted
    m.select(q(nested))
    m.uid("STORE", "1", "+FLAGS", r"(\Deleted)")
    m.expunge()
    want = {"INBOX": snapshot(m, "INBOX"), nested: snapshot(m, nested)}
    m.logout()
    dv.stop()  # Dovecot has written its uidlist and file names
    assert [u for u, *_ in want["INBOX"][2]] == [1, 3, 5, 6, 7]
    assert want["INBOX"][1] == 9

    time.sleep(1.1)  # tern's UIDVALIDITYs come after Dovecot's
    t = tern_factory()
    t.add_user(B, PW)
    r = run_ok(t, "import", B, "--format", "dovecot", dv.maildir)
    assert "imported 7 messages" in r.stdout, r.stdout
    r = t.cli("verify")
    assert r.returncode == 0, r.stdout + r.stderr
    mb = login(t, B)
    for name, snap in want.items():
        tname = name.replace(sep, "/")
        got = snapshot(mb, tname)
        assert got[0] == snap[0], (name, "UIDVALIDITY")
        assert got[1] == snap[1], (name, "UIDNEXT")
        assert got[2] == snap[2], name  # UIDs, flags, keywords, dates, bytes
    # new mail after the import gets UIDNEXT
    assert mb.append("INBOX", None, None, message("new", "n\r\n"))[0] == "OK"
    _, _, s = snapshot(mb, "INBOX")
    assert s[-1][0] == want["INBOX"][1]
    mb.logout()
    # again into the same (now full) mailboxes: refused, nothing written
    r = t.cli("import", B, "--format", "dovecot", dv.maildir)
    assert r.returncode == 1 and "already has" in r.stderr and "nothing was imported" in r.stderr


def peak_rss_kib(t, out, *args):
    """Run a tern command under GNU time (whose own fork is small: the
    peak of a child forked from pytest would count pytest's pages); its
    peak RSS in KiB."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out, os.environ.get("TERN_BIN", "tern"),
                        "--config", t.config_path, *args], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return int(open(out).read().split()[-1])


def test_export_memory_does_not_grow_with_messages(two, tmp_path):
    """Export reads messages in slices: four 12 MB messages cost no more
    peak memory than an empty account, but for the read connection's page
    cache (32 MiB at most, store/connect.c) and 6 MiB: one message held
    whole would take it past that."""
    if sanitized_build():
        pytest.skip("an ASan/TSan build: RSS says nothing of tern's own bound")
    if not os.path.exists("/usr/bin/time"):
        print("SKIPPED: test_import_export memory: /usr/bin/time (Debian: time) is missing")
        pytest.skip("SKIPPED: /usr/bin/time (Debian: time) is missing")
    t = two
    m = login(t, A)
    line = b"x" * 998 + b"\r\n"
    big = b"Subject: big\r\n\r\n" + line * (12 * 1024 * 1024 // len(line))
    for _ in range(4):
        assert m.append("Archive", None, None, big)[0] == "OK"
    m.logout()
    for fmt in ("maildir", "mbox"):
        rss = str(tmp_path / "rss")
        base = peak_rss_kib(t, rss, "export", B, "--format", fmt, str(tmp_path / ("e-" + fmt)))
        peak = peak_rss_kib(t, rss, "export", A, "--format", fmt, str(tmp_path / ("a-" + fmt)))
        assert peak < base + (32 + 6) * 1024, (fmt, base, peak)


def test_one_mailbox(two, tmp_path):
    """--mailbox: a Maildir export of one mailbox is that Maildir itself,
    imported anywhere with --mailbox; an mbox one is one file, whose name
    names the mailbox on import."""
    t = two
    fill(t)
    md, mb = str(tmp_path / "md"), str(tmp_path / "mb")
    r = run_ok(t, "export", A, "--mailbox", NESTED, "--format", "maildir", md)
    assert "exported 2 messages" in r.stdout and os.path.isdir(os.path.join(md, "cur"))
    run_ok(t, "import", B, "--format", "maildir", md, "--mailbox", "Kopie")
    run_ok(t, "export", A, "--mailbox", "Sent", "--format", "mbox", mb)
    run_ok(t, "import", B, "--format", "mbox", os.path.join(mb, "Sent.mbox"))
    ma, mbx = login(t, A), login(t, B)
    assert content(snapshot(ma, NESTED)) == content(snapshot(mbx, "Kopie"))
    assert content(snapshot(ma, "Sent")) == content(snapshot(mbx, "Sent"))
    ma.logout()
    mbx.logout()
