"""tern backup, tern restore, tern verify (issue 19).

The backup is taken while a sender keeps delivering over SMTP: every
message acknowledged (250) before the backup started must be in it, and
it must pass `tern verify`. It is then restored into a new data directory
and a new server reads every message back over IMAP, byte for byte, with
its flags, internal date, UID and UIDVALIDITY. Restore is refused while a
server has the target open, on a target that has a store (without
--force), and for files that are not whole tern backups; backup refuses
an existing FILE. `tern verify` reports each kind of damage seeded with
the sqlite3 CLI, with exit 1.
"""
import imaplib
import os
import re
import shutil
import smtplib
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import HOST, TERN_BIN, ssl_ctx

USER = "alice@example.test"
PASSWORD = "correct horse battery"

def message(n, size=2000):
    body = ("line %d of message %d, padding the body out a little\r\n" % (0, n)) * (size // 56)
    return ("From: bob@remote.test\r\nTo: %s\r\nSubject: message %d\r\n"
            "Message-ID: <msg-%d@remote.test>\r\nDate: Mon, 23 Nov 2026 09:00:00 +0000\r\n"
            "\r\n%s" % (USER, n, n, body)).encode()


def send(t, first, count, acked=None, size=2000):
    with smtplib.SMTP(HOST, t.port("smtp"), timeout=30) as s:
        for n in range(first, first + count):
            s.sendmail("bob@remote.test", [USER], message(n, size))
            if acked is not None:
                acked.append((n, time.monotonic()))


def imap(t):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    m.login(USER, PASSWORD)
    return m


def read_mailbox(t, mailbox="INBOX"):
    """(UIDVALIDITY, {uid: (flags, internaldate, bytes)}) over IMAP."""
    m = imap(t)
    try:
        typ, _ = m.select(mailbox, readonly=True)
        assert typ == "OK"
        uidvalidity = int(m.response("UIDVALIDITY")[1][0])
        typ, data = m.uid("FETCH", "1:*", "(UID FLAGS INTERNALDATE BODY.PEEK[])")
        assert typ == "OK"
        out = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            head = item[0]
            uid = int(re.search(rb"UID (\d+)", head).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", head).group(1)
            date = re.search(rb'INTERNALDATE "([^"]+)"', head).group(1)
            out[uid] = (frozenset(flags.split()), date, item[1])
        return uidvalidity, out
    finally:
        m.logout()


def message_ids(rows):
    return {int(re.search(rb"Message-ID: <msg-(\d+)@", data).group(1))
            for _, _, data in rows.values() if b"Message-ID: <msg-" in data}


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


def restore_target(tern_factory):
    """A second server's config and (empty) data directory, not started."""
    return tern_factory(start=False)


def test_backup_while_delivering_then_restore_elsewhere(box, tern_factory, tmp_path):
    t = box
    send(t, 0, 150, size=20000)  # 3 MB: many backup steps (16 pages each, below)
    # APPEND with flags, keywords and an internal date; flags changed on mail too.
    m = imap(t)
    appended = [message(10000 + i) for i in range(3)]
    flag_sets = ["(\\Seen \\Flagged)", "($Label1 \\Answered)", "()"]
    for data, flags in zip(appended, flag_sets):
        typ, _ = m.append("INBOX", flags, '"01-Feb-2026 10:20:30 +0100"', data)
        assert typ == "OK"
    m.select("INBOX")
    m.uid("STORE", "2", "+FLAGS", "(\\Deleted \\Draft)")
    m.uid("STORE", "3", "+FLAGS", "(\\Seen)")
    m.logout()

    # What ACME keeps in the data directory (acme/files.c): in the backup too.
    acme = os.path.join(t.data_dir, "acme")
    os.makedirs(os.path.join(acme, "not-a-file"))
    with open(os.path.join(acme, "account.key"), "wb") as f:
        f.write(b"-----BEGIN EC PRIVATE KEY-----\nnot really\n-----END EC PRIVATE KEY-----\n")
    os.chmod(os.path.join(acme, "account.key"), 0o600)

    acked = []
    stop = threading.Event()
    errors = []

    def sender():
        n = 1000
        try:
            while not stop.is_set():
                send(t, n, 5, acked)
                n += 5
        except Exception as e:  # the test asserts on it
            errors.append(e)

    th = threading.Thread(target=sender)
    th.start()
    try:
        while len(acked) < 10:
            time.sleep(0.01)
        backup = str(tmp_path / "tern.backup")
        started = time.monotonic()
        r = subprocess.run([TERN_BIN, "--config", t.config_path, "backup", backup],
                           capture_output=True, text=True, timeout=120,
                           env=dict(os.environ, TERN_TEST_BACKUP_STEP_MS="20"))
        ended = time.monotonic()
        time.sleep(0.3)
    finally:
        stop.set()
        th.join()
    assert not errors, errors
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"backup \S+: \d+ bytes, \d+ messages \(\d+ mailbox entries, "
                        r"2 accounts\), 3 files, \d+\.\d seconds\n", r.stdout), r.stdout
    assert os.stat(backup).st_mode & 0o777 == 0o600
    assert not os.path.exists(backup + ".tmp")
    during = [n for n, at in acked if started < at < ended]
    assert during, "no delivery was acknowledged while the backup ran"

    # The backup is consistent, and complete up to its start.
    v = t.cli("verify", backup)
    assert v.returncode == 0, v.stdout + v.stderr
    assert ", 0 findings;" in v.stdout
    before = {n for n, at in acked if at < started} | set(range(150))
    db = sqlite3.connect(backup)
    stored = {int(re.search(rb"<msg-(\d+)@", bytes(d)).group(1))
              for (d,) in db.execute("SELECT data FROM messages")}
    db.close()
    assert before <= stored, sorted(before - stored)[:10]

    original_uidvalidity, original = read_mailbox(t)
    original_crt = open(os.path.join(t.data_dir, "tls", "selfsigned.crt"), "rb").read()
    assert t.stop() == 0

    # Restore into a new data directory and read everything back.
    u = restore_target(tern_factory)
    r = u.cli("restore", backup)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("restored %s into %s: " % (backup, u.data_dir)), r.stdout
    assert "3 files" in r.stdout
    key = os.path.join(u.data_dir, "acme", "account.key")
    assert open(key, "rb").read().startswith(b"-----BEGIN EC PRIVATE KEY-----\nnot really")
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert not os.path.exists(os.path.join(u.data_dir, "acme", "not-a-file"))
    assert open(os.path.join(u.data_dir, "tls", "selfsigned.crt"), "rb").read() == original_crt
    assert not os.path.exists(os.path.join(u.data_dir, "tern.db.restore"))
    db = sqlite3.connect(os.path.join(u.data_dir, "tern.db"))
    assert db.execute("SELECT count(*) FROM sqlite_schema WHERE name = 'backup_files'"
                      ).fetchone()[0] == 0
    db.close()
    u.start()
    uidvalidity, restored = read_mailbox(u)
    assert uidvalidity == original_uidvalidity
    assert before <= message_ids(restored)
    assert len(restored) >= 150 + 3 + len(before) - 150
    for uid, row in restored.items():
        assert original[uid] == row, uid  # bytes, flags, internal date, same UID
    flags = {row[2]: row[0] for row in restored.values()}
    assert flags[appended[0]] == {b"\\Seen", b"\\Flagged"}
    assert flags[appended[1]] == {b"$Label1", b"\\Answered"}
    assert [row[1] for row in restored.values() if row[2] in appended] == \
        [b"01-Feb-2026 09:20:30 +0000"] * 3  # the same instant, in UTC
    assert restored[2][0] >= {b"\\Deleted", b"\\Draft"}
    assert u.cli("verify").returncode == 0


def test_restore_refusals(box, tern_factory, tmp_path):
    t = box
    send(t, 0, 3)
    backup = str(tmp_path / "b.db")
    assert t.cli("backup", backup).returncode == 0

    # Backup refuses an existing FILE (and leaves it alone) without --force.
    before = open(backup, "rb").read()
    r = t.cli("backup", backup)
    assert r.returncode == 1
    assert "exists; add --force" in r.stderr
    assert open(backup, "rb").read() == before
    assert t.cli("backup", "--force", backup).returncode == 0
    # A stale FILE.tmp is another backup's, or an interrupted one's.
    open(backup + ".tmp", "w").close()
    r = t.cli("backup", str(tmp_path / "b.db"), "--force")
    assert r.returncode == 0, r.stderr
    open(str(tmp_path / "c.db.tmp"), "w").close()
    r = t.cli("backup", str(tmp_path / "c.db"))
    assert r.returncode == 1 and "c.db.tmp exists" in r.stderr
    live = os.path.join(t.data_dir, "tern.db")
    r = t.cli("backup", "--force", live)
    assert r.returncode == 1 and "is the store itself" in r.stderr
    r = t.cli("backup")
    assert r.returncode == 2 and "which FILE" in r.stderr
    r = t.cli("backup", "--bogus", backup)
    assert r.returncode == 2 and "unknown option --bogus" in r.stderr

    # Restore refuses the store of a running server, even with --force.
    r = t.cli("restore", "--force", backup)
    assert r.returncode == 1
    assert "is in use" in r.stderr and "nothing changed" in r.stderr

    # Another data directory with a store in it: only with --force.
    u = restore_target(tern_factory)
    u.start()
    u.add_user("bob@example.test", "another password here")
    r = u.cli("restore", backup)
    assert r.returncode == 1 and "in use" in r.stderr
    assert u.stop() == 0
    r = u.cli("restore", backup)
    assert r.returncode == 1
    assert "tern.db already exists; add --force" in r.stderr
    r = u.cli("user", "list")
    assert "bob@example.test" in r.stdout
    r = u.cli("restore", "--force", os.path.join(u.data_dir, "tern.db"))
    assert r.returncode == 1 and "is the store of" in r.stderr
    r = u.cli("restore", "--force", backup)
    assert r.returncode == 0, r.stderr
    r = u.cli("user", "list")
    assert USER in r.stdout and "bob@example.test" not in r.stdout

    # Files that are not whole tern backups, into an empty target.
    w = restore_target(tern_factory)
    data = open(backup, "rb").read()
    bad = {
        "truncated": data[:len(data) // 2],
        "not_sqlite": b"From: someone\r\n\r\nnot a database at all\r\n" * 10,
        "empty": b"",
    }
    bad["corrupt"] = corrupt_pages(data)
    for name, content in bad.items():
        path = str(tmp_path / name)
        open(path, "wb").write(content)
        r = w.cli("restore", path)
        assert r.returncode == 1, (name, r.stdout)
        assert "nothing changed" in r.stderr, (name, r.stderr)
        assert not os.path.exists(os.path.join(w.data_dir, "tern.db")), name
    assert "truncated" in w.cli("restore", str(tmp_path / "truncated")).stderr
    assert "not an SQLite database" in w.cli("restore", str(tmp_path / "not_sqlite")).stderr
    r = w.cli("restore", str(tmp_path / "missing"))
    assert r.returncode == 1 and "No such file" in r.stderr

    # Not a tern store: an SQLite database of something else.
    other = str(tmp_path / "other.db")
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    r = w.cli("restore", other)
    assert r.returncode == 1 and "not a tern store" in r.stderr
    # A schema newer than this binary.
    newer = str(tmp_path / "newer.db")
    shutil.copy(backup, newer)
    subprocess.run(["sqlite3", newer, "PRAGMA user_version = 999"], check=True)
    r = w.cli("restore", newer)
    assert r.returncode == 1 and "schema version 999 is newer" in r.stderr
    # A backup naming a file outside acme/ and tls/.
    evil = str(tmp_path / "evil.db")
    shutil.copy(backup, evil)
    subprocess.run(["sqlite3", evil, "INSERT INTO backup_files VALUES('../escape', 384, x'41')"],
                   check=True)
    r = w.cli("restore", evil)
    assert r.returncode == 1 and "outside acme/ and tls/" in r.stderr
    assert not os.path.exists(os.path.join(w.dir, "escape"))
    big = str(tmp_path / "big.db")
    shutil.copy(backup, big)
    subprocess.run(["sqlite3", big, "INSERT INTO backup_files "
                    "VALUES('tls/huge.crt', 384, zeroblob(2 * 1024 * 1024))"], check=True)
    r = w.cli("restore", big)
    assert r.returncode == 1 and "too large" in r.stderr
    assert not os.path.exists(os.path.join(w.data_dir, "tern.db"))
    # And the good one still restores there.
    assert w.cli("restore", backup).returncode == 0


def corrupt_pages(data, page=4096):
    """The database with the b-tree page header of every page but the
    first overwritten: the schema still reads, the tables do not."""
    out = bytearray(data)
    for off in range(page, len(out), page):
        out[off:off + 8] = b"\xff" * 8
    return bytes(out)


def seeded(tmp_path, backup, name, sql):
    path = str(tmp_path / ("%s.db" % name))
    shutil.copy(backup, path)
    subprocess.run(["sqlite3", path, sql], check=True, capture_output=True)
    return path


# (what is seeded, the SQL the sqlite3 CLI runs (foreign keys off), the check that reports it)
DAMAGE = [
    ("delete_body", "DELETE FROM messages WHERE id = (SELECT min(message_id) FROM mailbox_entries)",
     "missing_message"),
    ("uid_past_uidnext",
     "UPDATE mailbox_entries SET uid = uid + 1000 WHERE uid = 1 AND mailbox_id = "
     "(SELECT min(mailbox_id) FROM mailbox_entries)", "uid"),
    ("uid_reused", "INSERT INTO expunged(mailbox_id, uid, modseq) SELECT mailbox_id, uid, 1 "
     "FROM mailbox_entries LIMIT 1", "uid_unique"),
    ("modseq_past_highest", "UPDATE mailbox_entries SET modseq = modseq + 1000 WHERE uid = 2",
     "modseq"),
    ("uidvalidity_zero", "UPDATE mailboxes SET uidvalidity = 0 WHERE name = 'INBOX'", "mailbox"),
    ("uidvalidity_shared", "UPDATE mailboxes SET uidvalidity = "
     "(SELECT uidvalidity FROM mailboxes WHERE name = 'INBOX') WHERE name = 'Sent'",
     "uidvalidity"),
    ("orphan_queue_rcpt", "INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, expires, "
     "created) VALUES(987654, 'bob@remote.test', 'carol@remote.test', 1, 100, 1)", "queue"),
    ("orphan_body", "INSERT INTO messages(id, size, refcount, created, data) "
     "VALUES(987655, 3, 1, 1, x'616263')", "orphan_message"),
    ("refcount", "UPDATE messages SET refcount = refcount + 1 WHERE id = "
     "(SELECT max(message_id) FROM mailbox_entries)", "refcount"),
    ("entry_size", "UPDATE mailbox_entries SET size = size + 1 WHERE uid = 1", "entry_size"),
    ("index_row", "INSERT INTO imap_sort_keys(message_id, keys) VALUES(987656, x'00')", "index"),
    ("queue_times", "INSERT INTO queue(message_id, mail_from, rcpt, next_attempt, expires, "
     "created) SELECT message_id, '', 'dave@remote.test', 0, 1, 5 FROM mailbox_entries LIMIT 1",
     "queue"),
]


def test_verify_clean_and_each_kind_of_damage(box, tmp_path):
    t = box
    send(t, 0, 5)
    r = t.cli("verify")  # while the server runs
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.fullmatch(r"verify \S+/tern\.db: \d+ checks, 0 findings; 5 messages, 5 mailbox "
                        r"entries in \d+ mailboxes, 0 queue rows\n", r.stdout), r.stdout
    assert t.cli("verify", "--quick").returncode == 0
    backup = str(tmp_path / "good.db")
    assert t.cli("backup", backup).returncode == 0
    assert t.cli("verify", backup).returncode == 0
    before = open(backup, "rb").read()
    for name, sql, check in DAMAGE:
        path = seeded(tmp_path, backup, name, sql)
        r = t.cli("verify", path)
        assert r.returncode == 1, (name, r.stdout, r.stderr)
        lines = r.stdout.splitlines()
        assert any(ln.startswith(check + ": ") for ln in lines), (name, r.stdout)
        n = int(re.search(r", (\d+) findings;", lines[-1]).group(1))
        assert n == len(lines) - 1 and n >= 1, (name, r.stdout)
    # verify is read-only: the file it checked is unchanged.
    assert open(backup, "rb").read() == before
    # Damage to the file itself.
    path = str(tmp_path / "corrupt.db")
    open(path, "wb").write(corrupt_pages(before))
    r = t.cli("verify", path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("integrity_check: ")
    # Could not run: exit 2.
    r = t.cli("verify", str(tmp_path / "missing.db"))
    assert r.returncode == 2 and "could not check" in r.stderr
    notdb = str(tmp_path / "notdb")
    open(notdb, "wb").write(b"hello\n" * 1000)
    r = t.cli("verify", notdb)
    assert r.returncode == 2 and "not a database" in r.stderr
    r = t.cli("verify", "--bogus")
    assert r.returncode == 2


def test_backup_needs_a_store(tern_factory, tmp_path):
    t = tern_factory(start=False)
    r = t.cli("backup", str(tmp_path / "x.db"))
    assert r.returncode == 1 and "no store at" in r.stderr
    assert not os.path.exists(str(tmp_path / "x.db"))
    assert not os.path.exists(str(tmp_path / "x.db.tmp"))
    r = t.cli("verify")
    assert r.returncode == 2


def test_restore_a_copy_of_tern_db_with_its_wal(box, tern_factory, tmp_path):
    """A plain copy of a store killed mid-flight (tern.db and its -wal):
    restore copies it through SQLite, so what only the WAL held comes too."""
    t = box
    send(t, 0, 20)
    assert t.kill9() == -9
    copy = str(tmp_path / "copy.db")
    shutil.copy(os.path.join(t.data_dir, "tern.db"), copy)
    if os.path.exists(os.path.join(t.data_dir, "tern.db-wal")):
        shutil.copy(os.path.join(t.data_dir, "tern.db-wal"), copy + "-wal")
    u = restore_target(tern_factory)
    r = u.cli("restore", copy)
    assert r.returncode == 0, r.stderr
    assert "20 messages" in r.stdout, r.stdout
    assert "0 files" in r.stdout
    assert u.cli("verify").returncode == 0
    u.start()
    _, rows = read_mailbox(u)
    assert message_ids(rows) == set(range(20))


def test_store_refuses_to_open_while_a_restore_holds_the_lock(tern_factory):
    """What tern restore holds while it replaces tern.db: an exclusive
    flock on <data_dir>/tern.lock. Neither the server nor a command opens
    the store meanwhile."""
    import fcntl
    t = tern_factory()
    assert t.stop() == 0
    with open(os.path.join(t.data_dir, "tern.lock"), "r+") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        r = t.cli("user", "list")
        assert r.returncode != 0
        assert "tern restore is replacing the store" in r.stderr
        t.start(wait=False)
        assert t.proc.wait(timeout=15) != 0
        assert "tern restore is replacing the store" in t.logs()
        t.stop()
    t.start()
    assert t.cli("user", "list").returncode == 0
