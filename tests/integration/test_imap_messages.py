"""IMAP message commands against the real binary: FETCH (all attributes,
sections, partials, BINARY, streaming of a large body), STORE (keywords,
.SILENT, UNCHANGEDSINCE), SEARCH (the key grammar, BODY/TEXT through FTS5,
ESEARCH, SAVE/$), COPY/MOVE (COPYUID), EXPUNGE/UID EXPUNGE, APPEND
(APPENDUID, TRYCREATE), the Thunderbird opening sequence, QRESYNC resync,
and real clients (mbsync, curl).

Messages arrive by SMTP (mx, local user) or APPEND. imaplib talks to the
implicit-TLS listener; raw transcripts check exact responses.
"""
import base64
import imaplib
import os
import re
import shutil
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import HOST, ssl_ctx

USER = "carol@example.test"
PASSWORD = "imap-secret-1"


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


def login(t):
    m = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx(), timeout=30)
    m.login(USER, PASSWORD)
    return m


def msg(subject, body="hello body\r\n", frm="Alice <alice@example.org>", extra=""):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Tue, 1 Jul 2003 10:52:37 +0200\r\n"
            "Message-ID: <%s@example.org>\r\n%s\r\n%s" %
            (frm, USER, subject, re.sub(r"\W", "", subject) or "x", extra, body)).encode()


MULTI = (b"From: Bob <bob@example.org>\r\nTo: carol@example.test\r\n"
         b"Subject: =?UTF-8?B?w6lsw6g=?= multipart\r\nDate: 5 Mar 2020 08:00:00 -0000\r\n"
         b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
         b"preamble\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         b"first part text\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\n" +
         base64.b64encode("zebra quokka caf\u00e9 unicorn\r\n".encode()) +
         b"\r\n--XYZ\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: x@y\r\n\r\n"
         b"inner body\r\n--XYZ--\r\n")


def append(m, data, mailbox="INBOX", flags=None, date=None):
    typ, resp = m.append(mailbox, flags, date, data)
    assert typ == "OK", resp
    code = re.search(rb"APPENDUID (\d+) (\d+)", resp[0])
    assert code, resp
    return int(code.group(2))


def deliver_smtp(t, data):
    with smtplib.SMTP(HOST, t.port("smtp"), timeout=30) as s:
        s.sendmail("alice@example.org", [USER], data)


def wait_count(m, n, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        typ, d = m.select("INBOX")
        if int(d[0]) >= n:
            return int(d[0])
        time.sleep(0.1)
    raise AssertionError("mailbox never reached %d" % n)


class Raw:
    """Line-level IMAP client over TLS for exact transcripts."""

    def __init__(self, t):
        s = socket.create_connection((HOST, t.port("imaps")), timeout=30)
        self.sock = ssl_ctx().wrap_socket(s, server_hostname="localhost")
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            c = self.sock.recv(65536)
            if not c:
                raise ConnectionError("closed: %r" % self.buf)
            self.buf += c
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def read_exact(self, n):
        while len(self.buf) < n:
            c = self.sock.recv(65536)
            if not c:
                raise ConnectionError("closed")
            self.buf += c
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def cmd(self, tag, text):
        """Send one command; return (untagged lines incl. literals, tagged line)."""
        self.send("%s %s\r\n" % (tag, text))
        out = []
        while True:
            ln = self.line()
            m = re.search(rb"\{(\d+)\}$", ln)
            if m:
                ln = ln + b"\r\n" + self.read_exact(int(m.group(1)))
                rest = self.line()
                ln += rest
            if ln.startswith(tag.encode() + b" "):
                return out, ln
            out.append(ln)

    def login(self):
        _, t = self.cmd("l", 'LOGIN "%s" "%s"' % (USER, PASSWORD))
        assert b" OK" in t, t


def test_append_fetch_basic(box):
    m = login(box)
    data = msg("basic one")
    uid = append(m, data, flags=r"(\Flagged $Work)", date='"17-Jul-1996 02:44:25 -0700"')
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(uid), "(FLAGS INTERNALDATE RFC822.SIZE UID)")
    assert typ == "OK"
    line = d[0].decode()
    assert "\\Flagged" in line and "$Work" in line
    assert '"17-Jul-1996 09:44:25 +0000"' in line
    assert "RFC822.SIZE %d" % len(data) in line
    typ, d = m.uid("FETCH", str(uid), "(BODY.PEEK[])")
    assert d[0][1] == data
    typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
    assert b"\\Seen" not in d[0]
    # BODY[] without PEEK sets \Seen and reports FLAGS
    typ, d = m.uid("FETCH", str(uid), "(BODY[])")
    assert d[0][1] == data
    assert b"\\Seen" in b"".join(x if isinstance(x, bytes) else b"".join(x) for x in d)
    typ, d = m.uid("FETCH", str(uid), "(FLAGS)")
    assert b"\\Seen" in d[0]
    m.logout()


def test_fetch_structure_and_sections(box):
    m = login(box)
    uid = append(m, MULTI)
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(uid), "(ENVELOPE BODYSTRUCTURE BODY)")
    assert typ == "OK"
    blob = b"".join(x if isinstance(x, bytes) else b"".join(x) for x in d)
    assert b'"=?UTF-8?B?w6lsw6g=?= multipart"' in blob  # encoded words kept
    assert b'"mixed"' in blob.lower() or b'"MIXED"' in blob
    assert b'"boundary" "XYZ"' in blob
    assert b"BODYSTRUCTURE" in blob and b"ENVELOPE" in blob
    typ, d = m.uid("FETCH", str(uid), "(BODY.PEEK[1])")
    assert d[0][1] == b"first part text"
    typ, d = m.uid("FETCH", str(uid), "(BODY.PEEK[2.MIME])")
    assert b"Content-Transfer-Encoding: base64" in d[0][1]
    typ, d = m.uid("FETCH", str(uid), "(BINARY.PEEK[2] BINARY.SIZE[2])")
    parts = [x for x in d if isinstance(x, tuple)]
    assert parts[0][1] == "zebra quokka caf\u00e9 unicorn\r\n".encode()
    assert b"BINARY.SIZE[2] %d" % len("zebra quokka caf\u00e9 unicorn\r\n".encode()) in \
        b"".join(x if isinstance(x, bytes) else x[0] for x in d)
    typ, d = m.uid("FETCH", str(uid), "(BODY.PEEK[3.HEADER] BODY.PEEK[3.TEXT])")
    lits = [x[1] for x in d if isinstance(x, tuple)]
    assert lits[0] == b"Subject: inner\r\nFrom: x@y\r\n\r\n"
    assert lits[1] == b"inner body"
    typ, d = m.uid("FETCH", str(uid), "(BODY.PEEK[HEADER.FIELDS (Subject FROM)])")
    assert d[0][1] == (b"From: Bob <bob@example.org>\r\n"
                       b"Subject: =?UTF-8?B?w6lsw6g=?= multipart\r\n\r\n")
    typ, d = m.uid("FETCH", str(uid), "(BODY.PEEK[HEADER.FIELDS.NOT (Subject From To Date "
                   "MIME-Version)])")
    assert d[0][1].startswith(b"Content-Type: multipart/mixed")
    typ, d = m.uid("FETCH", str(uid), "(BODY.PEEK[]<10.20> RFC822.HEADER)")
    lits = [x for x in d if isinstance(x, tuple)]
    assert b"BODY[]<10>" in lits[0][0] and lits[0][1] == MULTI[10:30]
    assert lits[1][1] == MULTI[:MULTI.index(b"\r\n\r\n") + 4]
    typ, d = m.fetch("1", "FULL")
    assert typ == "OK"
    m.logout()


def test_large_body_streams(box):
    m = login(box)
    big = msg("big one", body="".join("line %07d of a big body .......................\r\n" % i
                                      for i in range(120000)))
    assert len(big) > 5_000_000
    uid = append(m, big)
    m.select("INBOX")
    typ, d = m.uid("FETCH", str(uid), "(RFC822.SIZE BODY.PEEK[])")
    assert d[0][1] == big
    assert b"RFC822.SIZE %d" % len(big) in d[0][0]
    m.logout()


def test_store_flags_keywords_unchangedsince(box):
    m = login(box)
    for i in range(3):
        append(m, msg("store %d" % i))
    m.select("INBOX")
    typ, d = m.store("1:3", "+FLAGS", r"(\Seen Important)")
    assert typ == "OK" and len(d) == 3 and b"Important" in d[0]
    typ, d = m.store("2", "-FLAGS.SILENT", r"(\Seen)")
    assert typ == "OK" and d == [None]
    typ, d = m.fetch("1:3", "(FLAGS)")
    assert b"\\Seen" in d[0] and b"\\Seen" not in d[1] and b"Important" in d[2]
    typ, d = m.store("3", "FLAGS", r"(\Deleted)")
    assert b"Important" not in d[0] and b"\\Deleted" in d[0]
    # CONDSTORE: UNCHANGEDSINCE 1 fails for all (every modseq is higher)
    r = Raw(box)
    r.login()
    r.cmd("s", "SELECT INBOX (CONDSTORE)")
    out, tag = r.cmd("u1", "STORE 1:2 (UNCHANGEDSINCE 1) +FLAGS.SILENT (\\Answered)")
    assert tag.startswith(b"u1 OK [MODIFIED 1:2]"), tag
    out, tag = r.cmd("u2", "FETCH 1 (MODSEQ)")
    ms = int(re.search(rb"MODSEQ \((\d+)\)", out[0]).group(1))
    out, tag = r.cmd("u3", "STORE 1 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\\Answered)" % ms)
    assert tag.startswith(b"u3 OK"), tag
    assert any(b"MODSEQ (" in o and o.startswith(b"* 1 FETCH") for o in out), out
    m.logout()


def test_search_keys_and_fts(box):
    m = login(box)
    append(m, msg("apples report", body="The quick brown fox\r\n"))
    append(m, msg("pears", body="nothing to see\r\n", frm="Zed <zed@other.test>"))
    append(m, MULTI)
    deliver_smtp(box, msg("smtp delivered", body="delivered by smtp with a Kiwi\r\n"))
    n = wait_count(m, 4)
    assert n == 4
    m.select("INBOX")
    m.store("2", "+FLAGS", r"(\Flagged)")

    def s(*crit):
        typ, d = m.search(None, *crit)
        assert typ == "OK", d
        return d[0].split()
    assert s("ALL") == [b"1", b"2", b"3", b"4"]
    assert s("FLAGGED") == [b"2"]
    assert s("NOT", "FLAGGED") == [b"1", b"3", b"4"]
    assert s("OR", "FLAGGED", "SUBJECT", "apples") == [b"1", b"2"]
    assert s("FROM", "zed@OTHER") == [b"2"]
    assert s("BODY", '"QUICK BROWN"') == [b"1"]
    assert s("BODY", "quokka") == [b"3"]  # base64-decoded part
    assert s("TEXT", "kiwi") == [b"4"]
    assert s("TEXT", "zed@other") == [b"2"]  # TEXT covers headers
    assert s("BODY", "ki") == [b"4"]  # short needle
    assert s("LARGER", "400") == [b"3"]
    assert s("SENTON", "1-Jul-2003") == [b"1", b"2", b"4"]
    assert s("SENTBEFORE", "1-Jan-2010") == [b"1", b"2", b"4"]
    assert s("2:3") == [b"2", b"3"]
    assert s("HEADER", "Message-ID", "pears") == [b"2"]
    typ, d = m.uid("SEARCH", None, "ALL")
    assert len(d[0].split()) == 4
    typ, d = m.search("UTF-8", "BODY", "fox")
    assert d[0] == b"1"
    typ, d = m.search("KOI8-R", "ALL")
    assert typ == "NO"
    # ESEARCH + SAVE + $
    r = Raw(box)
    r.login()
    r.cmd("s", "SELECT INBOX")
    out, tag = r.cmd("e1", "SEARCH RETURN (MIN MAX COUNT ALL) NOT FLAGGED")
    assert out == [b'* ESEARCH (TAG "e1") MIN 1 MAX 4 COUNT 3 ALL 1,3:4'], out
    out, tag = r.cmd("e2", "UID SEARCH RETURN (COUNT) BODY nosuchword")
    assert out == [b'* ESEARCH (TAG "e2") UID COUNT 0'], out
    out, tag = r.cmd("e3", "SEARCH RETURN (SAVE) FLAGGED")
    assert out == [] and tag.startswith(b"e3 OK")
    out, tag = r.cmd("e4", "FETCH $ (FLAGS)")
    assert len(out) == 1 and out[0].startswith(b"* 2 FETCH"), out
    out, tag = r.cmd("e5", "SEARCH BOGUS")
    assert tag.startswith(b"e5 BAD")
    out, tag = r.cmd("e6", "SEARCH CHARSET X-UNKNOWN ALL")
    assert tag.startswith(b"e6 NO [BADCHARSET"), tag
    m.logout()


def test_search_keys_on_the_view(box):
    """Queries of sequence numbers, UIDs and BODY/TEXT alone are answered
    from the session's view and the FTS lists (no entry is read): the same
    answers, also after an expunge renumbers the messages."""
    m = login(box)
    uids = [append(m, msg("view %d" % i, body=("zebra\r\n" if i % 2 else "lion\r\n")))
            for i in range(1, 7)]
    m.select("INBOX")

    def s(*crit, uid=False):
        typ, d = m.uid("SEARCH", *crit) if uid else m.search(None, *crit)
        assert typ == "OK", d
        return [int(x) for x in d[0].split()]
    assert s("BODY", "zebra") == [1, 3, 5]
    assert s("NOT", "BODY", "zebra") == [2, 4, 6]
    assert s("2:5", "BODY", "zebra") == [3, 5]
    assert s("OR", "BODY", "lion", "1") == [1, 2, 4, 6]
    assert s("UID", "%d:%d" % (uids[0], uids[2]), "TEXT", "zebra", uid=True) == [uids[0], uids[2]]
    assert s("NOT", "OR", "BODY", "lion", "BODY", "zebra") == []
    assert s("BODY", "zebra", "FLAGGED") == []  # a key that needs the entries
    other = login(box)
    other.select("INBOX")
    other.store("1", "+FLAGS", r"(\Deleted)")
    other.expunge()
    other.logout()
    m.noop()  # the EXPUNGE reaches this session: 5 messages, renumbered
    assert s("BODY", "zebra") == [2, 4]
    assert s("NOT", "BODY", "zebra") == [1, 3, 5]
    assert s("1:2", "BODY", "zebra") == [2]
    assert s("BODY", "zebra", uid=True) == [uids[2], uids[4]]
    r = Raw(box)
    r.login()
    r.cmd("s", "SELECT INBOX")
    out, tag = r.cmd("e1", "SEARCH RETURN (SAVE) BODY lion")
    assert tag.startswith(b"e1 OK"), tag
    out, tag = r.cmd("e2", "SEARCH RETURN (COUNT ALL) $ NOT BODY zebra")
    assert out == [b'* ESEARCH (TAG "e2") COUNT 3 ALL 1,3,5'], out
    m.logout()


def test_header_fetch_reads_the_header_alone(box):
    """BODY.PEEK[HEADER*] alone reads a prefix of the message holding its
    header: the answers equal those of a FETCH that parses everything, for
    a large body, a header longer than the first read (16 KiB) and a
    message that is all header."""
    m = login(box)
    big_body = ("line of body text %d\r\n" * 6000) % tuple(range(6000))
    long_hdr = "".join("X-Filler-%d: %s\r\n" % (i, "v" * 70) for i in range(400))
    cases = [
        msg("big body", body=big_body),
        msg("long header", body="short\r\n", extra=long_hdr),
        (long_hdr + "Subject: no body at all\r\nX-Last: end").encode(),
    ]
    for data in cases:
        append(m, data)
    m.select("INBOX")
    fields = "BODY.PEEK[HEADER.FIELDS (SUBJECT X-LAST)]"
    for i, data in enumerate(cases, 1):
        typ, alone = m.fetch(str(i), "(%s BODY.PEEK[HEADER] %s)" % (fields, "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)]"))
        assert typ == "OK", alone
        typ, full = m.fetch(str(i), "(%s BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)] BODY.PEEK[TEXT])" % fields)
        assert typ == "OK", full
        lits_alone = [p[1] for p in alone if isinstance(p, tuple)]
        lits_full = [p[1] for p in full if isinstance(p, tuple)][:3]
        assert lits_alone == lits_full, i
        hdr_end = data.find(b"\r\n\r\n")
        expect_hdr = data if hdr_end < 0 else data[:hdr_end + 4]
        assert lits_alone[1] == expect_hdr, i
        assert b"Subject:" in lits_alone[0] and b"Subject:" not in lits_alone[2]
    m.logout()


def test_search_sees_mail_delivered_after_a_search(box):
    """A mailbox searched once is not then taken as indexed for ever: mail
    delivered later (which the background indexer has not reached yet, it
    waits for a quiet second) is found by header and body searches."""
    m = login(box)
    append(m, msg("first", body="walrus one\r\n", frm="Wally <wally@sea.test>"))
    m.select("INBOX")
    assert m.search(None, "FROM", "wally")[1][0].split() == [b"1"]
    assert m.search(None, "BODY", "walrus")[1][0].split() == [b"1"]
    for i in range(3):
        deliver_smtp(box, msg("later %d" % i, body="walrus later\r\n", frm="Wally <wally@sea.test>"))
        m.noop()
    assert wait_count(m, 4) == 4
    m.select("INBOX")
    assert m.search(None, "FROM", "wally")[1][0].split() == [b"1", b"2", b"3", b"4"]
    assert m.search(None, "BODY", "walrus")[1][0].split() == [b"1", b"2", b"3", b"4"]
    assert m.search(None, "SUBJECT", "later")[1][0].split() == [b"2", b"3", b"4"]
    # the Date: of mail not indexed yet (msg() dates everything 1 Jul 2003)
    deliver_smtp(box, msg("dated", body="x\r\n"))
    assert wait_count(m, 5) == 5
    m.select("INBOX")
    assert m.search(None, "SENTON", "1-Jul-2003")[1][0].split() == [b"1", b"2", b"3", b"4", b"5"]
    assert m.search(None, "SENTBEFORE", "1-Jan-2004", "SUBJECT", "dated")[1][0].split() == [b"5"]
    m.logout()


def test_header_search_cache_follows_the_mailbox(box):
    """Header searches and header-field FETCHes are answered from memory
    after the first one (proto/imap/header_cache.c): what it holds must
    follow the mailbox through new mail, expunges, a second session's
    changes, a rename, and a mailbox deleted and created again, whose UID 1
    is another message."""
    def subject_of(uid):
        typ, data = m.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        assert typ == "OK"
        return data[0][1].decode().strip()

    m = login(box)
    m.create("Box")
    append(m, msg("apple pie", frm="Ann <ann@a.test>"), mailbox="Box")
    append(m, msg("banana split", frm="Bob <bob@b.test>"), mailbox="Box")
    m.select("Box")
    assert m.uid("SEARCH", None, "SUBJECT", "apple")[1][0].split() == [b"1"]
    assert m.uid("SEARCH", None, "FROM", "bob")[1][0].split() == [b"2"]
    assert subject_of("1") == subject_of("1") == "Subject: apple pie"
    # new mail from another session, then an expunge
    m2 = login(box)
    append(m2, msg("apple crumble", frm="Bob <bob@b.test>"), mailbox="Box")
    m.noop()
    assert m.uid("SEARCH", None, "SUBJECT", "apple")[1][0].split() == [b"1", b"3"]
    assert m.uid("SEARCH", None, "FROM", "bob", "SUBJECT", "apple")[1][0].split() == [b"3"]
    m.store("1", "+FLAGS", "(\\Deleted)")
    m.expunge()
    assert m.uid("SEARCH", None, "SUBJECT", "apple")[1][0].split() == [b"3"]
    assert m.search(None, "SUBJECT", "apple")[1][0].split() == [b"2"]
    # a rename keeps the mailbox (and its UIDs)
    m.close()
    assert m.rename("Box", "Crate")[0] == "OK"
    m.select("Crate")
    assert m.uid("SEARCH", None, "SUBJECT", "crumble")[1][0].split() == [b"3"]
    # deleted and created again: UID 1 is another message now
    m.close()
    assert m.delete("Crate")[0] == "OK"
    m.create("Crate")
    append(m, msg("cherry tart", frm="Cy <cy@c.test>"), mailbox="Crate")
    m.select("Crate")
    assert m.uid("SEARCH", None, "SUBJECT", "apple")[1][0].split() == []
    assert m.uid("SEARCH", None, "SUBJECT", "cherry")[1][0].split() == [b"1"]
    assert m.uid("SEARCH", None, "FROM", "cy@c.test")[1][0].split() == [b"1"]
    assert subject_of("1") == subject_of("1") == "Subject: cherry tart"
    m.logout()
    m2.logout()


# What schema 10 added (object ids, save dates, previews), taken away again
# to make an older database.
UNDO_SCHEMA_10 = """
    DROP TRIGGER IF EXISTS messages_hw;
    DELETE FROM meta WHERE key = 'message_hw';
    ALTER TABLE mailbox_entries DROP COLUMN thread_id;
    ALTER TABLE mailbox_entries DROP COLUMN save_date;
    DROP TABLE thread_refs;
    ALTER TABLE imap_message_info DROP COLUMN preview;
"""
# What the steps after 10 added (schema 11's metadata table, schema 12's SCRAM
# keys, schema 13's sort records, schema 14's TLS-RPT counters, schema 17's
# expunged message ids, schema 18's date index, schema 19's Sieve tables (which
# schema 24 rebuilt with ids), schema 20's token owners and idempotency keys,
# schema 21's webhooks, schema 22's contacts), taken away again: a test that
# goes back to schema 9 or 10 runs them.
UNDO_AFTER_10 = """
    DROP TABLE metadata;
    ALTER TABLE accounts DROP COLUMN scram_sha1;
    ALTER TABLE accounts DROP COLUMN scram_sha256;
    DROP TABLE imap_sort_keys;
    DROP TABLE tlsrpt_counts;
    DROP TABLE mta_sts_policies;
    DROP TABLE uploads;
    ALTER TABLE expunged DROP COLUMN message_id;
    ALTER TABLE expunged DROP COLUMN thread_id;
    DROP INDEX mailbox_entries_date;
    DROP TABLE sieve_scripts;
    DROP TABLE sieve_vacation;
    DROP TABLE token_owners;
    DROP TABLE send_idempotency;
    DROP TABLE webhook_events;
    DROP TABLE webhooks;
    DROP TABLE card_emails;
    DROP TABLE cards;
    DROP TABLE addressbooks;
    DROP TABLE contacts_state;
"""



def test_upgrade_from_schema_3_fills_entry_sizes(box):
    """A database from before schema 4 (no size in mailbox_entries, no
    directory counter) is upgraded when tern starts: every entry gets its
    message's size, which RFC822.SIZE, LARGER and STATUS SIZE then read."""
    m = login(box)
    small, big = msg("small one"), msg("big one", body="x" * 5000 + "\r\n")
    append(m, small)
    append(m, big)
    m.logout()
    box.stop()
    db = box.db()
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                              "AND name LIKE 'directory_%'").fetchall():
        db.execute("DROP TRIGGER %s" % name)
    db.execute("ALTER TABLE mailbox_entries DROP COLUMN size")
    db.execute("DELETE FROM meta WHERE key = 'directory'")
    # before schema 6, a subscription was a mailbox column
    db.execute("ALTER TABLE mailboxes ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 1")
    db.execute("DROP TABLE subscriptions")
    db.execute("DROP TABLE tokens")  # schema 7's
    db.execute("DROP TABLE dkim_keys")  # schema 8's
    db.execute("DROP TABLE urlauth_keys")  # schema 9's
    db.executescript(UNDO_SCHEMA_10)
    db.execute("DROP TABLE metadata")  # schema 11's
    db.execute("ALTER TABLE accounts DROP COLUMN scram_sha1")  # schema 12's
    db.execute("ALTER TABLE accounts DROP COLUMN scram_sha256")
    db.execute("DROP TABLE imap_sort_keys")  # schema 13's
    db.execute("DROP TABLE tlsrpt_counts")  # schema 14's
    db.execute("DROP TABLE mta_sts_policies")  # schema 15's
    db.execute("DROP TABLE uploads")  # schema 16's
    db.execute("ALTER TABLE expunged DROP COLUMN message_id")  # schema 17's
    db.execute("ALTER TABLE expunged DROP COLUMN thread_id")
    db.execute("DROP INDEX mailbox_entries_date")  # schema 18's
    db.execute("DROP TABLE sieve_scripts")  # schema 19's (24 rebuilt it with ids)
    db.execute("DROP TABLE sieve_vacation")
    db.execute("DROP TABLE token_owners")  # schema 20's
    db.execute("DROP TABLE send_idempotency")
    db.execute("DROP TABLE webhook_events")  # schema 21's
    db.execute("DROP TABLE webhooks")
    db.execute("DROP TABLE card_emails")  # schema 22's
    db.execute("DROP TABLE cards")
    db.execute("DROP TABLE addressbooks")
    db.execute("DROP TABLE contacts_state")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()

    box.start()
    assert "event=migrated from=3 to=4" in box.logs()
    db = box.db()
    assert db.execute("PRAGMA user_version").fetchone()[0] >= 4
    assert db.execute("SELECT count(*) FROM mailbox_entries e JOIN messages m "
                      "ON m.id = e.message_id WHERE e.size != m.size").fetchone()[0] == 0
    assert db.execute("SELECT value FROM meta WHERE key = 'directory'").fetchone() is not None
    db.close()
    m = login(box)
    m.select("INBOX")
    typ, data = m.fetch("1:2", "(RFC822.SIZE)")
    sizes = [int(re.search(rb"RFC822.SIZE (\d+)", d).group(1)) for d in data]
    assert sizes == [len(small), len(big)]
    assert m.search(None, "LARGER", "1000")[1][0].split() == [b"2"]
    typ, data = m.status("INBOX", "(SIZE)")
    assert b"SIZE %d" % (len(small) + len(big)) in data[0]
    m.logout()


def test_upgrade_from_schema_4_drops_message_digests(box):
    """Schema 5 copies the messages table without its SHA-256 (and the two
    unused columns): the messages, everything that references them (a
    COPY shares one row), IMAP's precomputed data and search index must all
    come through, the index and trigger that went with the old table must
    be back, and new mail must go on arriving."""
    m = login(box)
    first, second = msg("first kept", body="alpha bravo\r\n"), msg("second kept")
    append(m, first)
    append(m, second)
    m.create("Other")
    m.select("INBOX")
    assert m.copy("1", "Other")[0] == "OK"
    assert m.search(None, "BODY", "bravo")[1][0].split() == [b"1"]  # indexes both
    m.logout()
    box.stop()
    db = box.db()
    info_before = db.execute("SELECT count(*) FROM imap_message_info").fetchone()[0]
    assert info_before == 2
    # The messages table as schema 4 had it.
    db.executescript("""
        PRAGMA foreign_keys = OFF;
        BEGIN;
        CREATE TABLE messages_v4(
          id INTEGER PRIMARY KEY,
          sha256 BLOB NOT NULL UNIQUE,
          size INTEGER NOT NULL,
          refcount INTEGER NOT NULL DEFAULT 0,
          created INTEGER NOT NULL,
          envelope TEXT,
          bodystructure TEXT,
          data BLOB NOT NULL);
        INSERT INTO messages_v4(id, sha256, size, refcount, created, data)
          SELECT id, randomblob(32), size, refcount, created, data FROM messages;
        DROP TABLE messages;
        ALTER TABLE messages_v4 RENAME TO messages;
        CREATE INDEX messages_unreferenced ON messages(id) WHERE refcount <= 0;
        CREATE TRIGGER imap_fts_gc AFTER DELETE ON messages BEGIN
          DELETE FROM imap_fts WHERE rowid = old.id;
        END;
        ALTER TABLE mailboxes ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 1;
        DROP TABLE subscriptions;
        DROP TABLE tokens;  -- schema 7's
        DROP TABLE dkim_keys;  -- schema 8's
        DROP TABLE urlauth_keys;  -- schema 9's
    """ + UNDO_SCHEMA_10 + """
        DROP TABLE metadata;  -- schema 11's
        ALTER TABLE accounts DROP COLUMN scram_sha1;  -- schema 12's
        ALTER TABLE accounts DROP COLUMN scram_sha256;
        DROP TABLE imap_sort_keys;  -- schema 13's
        DROP TABLE tlsrpt_counts;  -- schema 14's
        DROP TABLE mta_sts_policies;  -- schema 15's
        DROP TABLE uploads;  -- schema 16's
        ALTER TABLE expunged DROP COLUMN message_id;  -- schema 17's
        ALTER TABLE expunged DROP COLUMN thread_id;
        DROP INDEX mailbox_entries_date;  -- schema 18's
        DROP TABLE sieve_scripts;  -- schema 19's (24 rebuilt it with ids)
        DROP TABLE sieve_vacation;
        DROP TABLE token_owners;  -- schema 20's
        DROP TABLE send_idempotency;
        DROP TABLE webhook_events;  -- schema 21's
        DROP TABLE webhooks;
        DROP TABLE card_emails;  -- schema 22's
        DROP TABLE cards;
        DROP TABLE addressbooks;
        DROP TABLE contacts_state;
        PRAGMA user_version = 4;
        COMMIT;
    """)
    db.close()

    box.start()
    assert "event=migrated from=4 to=5" in box.logs()
    db = box.db()
    cols = {r[1] for r in db.execute("PRAGMA table_info(messages)")}
    assert cols == {"id", "size", "refcount", "created", "data"}
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert db.execute("SELECT refcount FROM messages ORDER BY id").fetchall() == [(2,), (1,)]
    assert db.execute("SELECT count(*) FROM imap_message_info").fetchone()[0] == info_before
    schema = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert {"messages_unreferenced", "imap_fts_gc"} <= schema
    db.close()
    m = login(box)
    m.select("INBOX")
    assert m.fetch("1", "(BODY.PEEK[])")[1][0][1] == first
    assert m.fetch("2", "(BODY.PEEK[])")[1][0][1] == second
    assert m.search(None, "BODY", "bravo")[1][0].split() == [b"1"]
    append(m, msg("third, after"))
    assert m.search(None, "SUBJECT", "after")[1][0].split() == [b"3"]
    # Expunging the last holder of the second message deletes its row,
    # and the trigger made again deletes its index rows.
    m.store("2", "+FLAGS", "(\\Deleted)")
    m.expunge()
    m.logout()
    db = box.db()
    assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 2
    ids = [r[0] for r in db.execute("SELECT rowid FROM imap_fts")]
    assert sorted(ids) == sorted(r[0] for r in db.execute("SELECT message_id FROM imap_message_info"))
    db.close()


@pytest.mark.parametrize("prefilter", [True, False])
def test_header_search_prefilter(tern_factory, monkeypatch, prefilter):
    """Header keys of 3+ characters are narrowed by the FTS5 header text
    (in mailboxes of 5,000 messages or more; the test lowers that to 1),
    then checked field by field: the answers must be exactly those of the
    field match, with encoded words, folded lines and case differences, and
    when few messages are candidates (only those entries are read)."""
    monkeypatch.setenv("TERN_TEST_SEARCH_PREFILTER_MIN", "1" if prefilter else "1000000")
    box = tern_factory()
    box.add_user(USER, PASSWORD)
    m = login(box)
    for i in range(12):
        extra = ""
        if i == 3:
            extra = "X-Project: alpha\r\n beta-gamma\r\n"
        frm = "Zed <zed@other.test>" if i in (2, 9) else "Alice <alice@example.org>"
        subject = "=?UTF-8?B?w6lsw6hwaGFudA==?= memo" if i == 5 else "weekly %d" % i
        append(m, msg(subject, body="plain body %d\r\n" % i, frm=frm, extra=extra))
    m.select("INBOX")
    m.store("9", "+FLAGS", r"(\Flagged)")

    def s(*crit):
        typ, d = m.search("UTF-8", *crit)
        assert typ == "OK", d
        return [int(x) for x in d[0].split()]
    assert s("FROM", "ZED@other") == [3, 10]
    assert s("FROM", "zed", "FLAGGED") == []
    assert s("FROM", "zed", "UNFLAGGED") == [3, 10]
    assert s("NOT", "FROM", "zed") == [1, 2, 4, 5, 6, 7, 8, 9, 11, 12]
    assert s("OR", "FROM", "zed", "SUBJECT", '"weekly 11"') == [3, 10, 12]
    assert s("SUBJECT", '"phant memo"') == [6]  # only in the decoded encoded word
    assert s("HEADER", "X-Project", "beta-gamma") == [4]
    assert s("HEADER", "X-Project", "alpha") == [4]
    assert s("SUBJECT", "memo", "FROM", "alice") == [6]
    assert s("FROM", "example.org", "SUBJECT", "weekly") == [1, 2, 4, 5, 7, 8, 9, 11, 12]
    assert s("TO", "carol") == list(range(1, 13))
    assert s("FROM", "nobody-such") == []
    m.logout()


def test_copy_move_expunge(box):
    m = login(box)
    for i in range(5):
        append(m, msg("cm %d" % i))
    m.create("Work")
    m.select("INBOX")
    typ, d = m.copy("1:2", "Work")
    assert typ == "OK"
    r = Raw(box)
    r.login()
    r.cmd("s", "SELECT INBOX")
    out, tag = r.cmd("c1", "UID COPY 3 Work")
    assert re.match(rb"c1 OK \[COPYUID \d+ 3 3\]", tag), tag
    out, tag = r.cmd("c2", "COPY 1 NoSuchBox")
    assert tag.startswith(b"c2 NO [TRYCREATE]"), tag
    out, tag = r.cmd("m1", "MOVE 4:5 Work")
    assert re.match(rb"\* OK \[COPYUID \d+ 4:5 4:5\]", out[0]), out
    assert out[1:] == [b"* 5 EXPUNGE", b"* 4 EXPUNGE"] or out[1:] == [b"* 4 EXPUNGE", b"* 4 EXPUNGE"], out
    assert tag.startswith(b"m1 OK")
    out, tag = r.cmd("x0", "STORE 1:2 +FLAGS.SILENT (\\Deleted)")
    out, tag = r.cmd("x1", "UID EXPUNGE 2")
    assert out == [b"* 2 EXPUNGE"], out
    out, tag = r.cmd("x2", "EXPUNGE")
    assert out == [b"* 1 EXPUNGE"], out
    out, tag = r.cmd("x3", "SELECT Work")
    assert b"* 5 EXISTS" in out, out
    out, tag = r.cmd("x4", "EXAMINE Work")
    out, tag = r.cmd("x5", "STORE 1 +FLAGS (\\Seen)")
    assert tag.startswith(b"x5 NO"), tag
    out, tag = r.cmd("x6", "EXPUNGE")
    assert tag.startswith(b"x6 NO"), tag
    m.logout()


def test_append_errors_and_literal_plus(box):
    r = Raw(box)
    r.login()
    out, tag = r.cmd("a1", "APPEND NoSuchBox {5+}\r\nhello")
    assert tag.startswith(b"a1 NO [TRYCREATE]"), tag
    out, tag = r.cmd("a2", "APPEND INBOX (\\Bogus) {5+}\r\nhello")
    assert tag.startswith(b"a2 BAD"), tag
    out, tag = r.cmd("a3", 'APPEND INBOX "99-Foo-2000 00:00:00 +0000" {5+}\r\nhello')
    assert tag.startswith(b"a3 BAD"), tag
    data = b"Subject: two\r\n\r\nx\r\n"
    out, tag = r.cmd("a4", "APPEND INBOX (\\Seen) {%d+}\r\n%s (\\Draft) {%d+}\r\n%s" %
                     (len(data), data.decode(), len(data), data.decode()))
    assert re.match(rb"a4 OK \[APPENDUID \d+ 1:2\]", tag), tag
    out, tag = r.cmd("a5", "SELECT INBOX")
    assert b"* 2 EXISTS" in out
    out, tag = r.cmd("f1", "FETCH 1:2 (FLAGS)")
    # this session is the first to select: both are \Recent in it
    assert out == [b"* 1 FETCH (FLAGS (\\Seen \\Recent))",
                   b"* 2 FETCH (FLAGS (\\Draft \\Recent))"], out
    out, tag = r.cmd("f2", "FETCH 1 (BOGUS)")
    assert tag.startswith(b"f2 BAD"), tag
    out, tag = r.cmd("f3", "FETCH 9 (FLAGS)")
    assert tag.startswith(b"f3 BAD") or tag.startswith(b"f3 NO"), tag
    out, tag = r.cmd("f4", "UID FETCH 9 (FLAGS)")
    assert out == [] and tag.startswith(b"f4 OK"), tag


def test_thunderbird_opening(box):
    m = login(box)
    for i in range(3):
        append(m, msg("tb %d" % i, body="x" * 70000 + "\r\n"))
    r = Raw(box)
    r.login()
    out, tag = r.cmd("1", 'ID ("name" "Thunderbird" "version" "115.0")')
    assert tag.startswith(b"1 OK")
    out, tag = r.cmd("2", "ENABLE UTF8=ACCEPT")
    assert tag.startswith(b"2 OK")
    out, tag = r.cmd("3", "SELECT INBOX")
    assert b"* 3 EXISTS" in out and b"* 3 RECENT" in out
    out, tag = r.cmd("4", "UID FETCH 1:* (FLAGS)")
    assert out == [b"* 1 FETCH (UID 1 FLAGS (\\Recent))", b"* 2 FETCH (UID 2 FLAGS (\\Recent))",
                   b"* 3 FETCH (UID 3 FLAGS (\\Recent))"], out
    out, tag = r.cmd("5", "UID FETCH 1:3 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To "
                     "Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups "
                     "In-Reply-To Content-Type Reply-To)])")
    assert tag.startswith(b"5 OK") and len(out) == 3
    assert b"Subject: tb 0" in out[0] and b"Message-ID:" in out[0]
    got = b""
    off = 0
    while True:
        out, tag = r.cmd("6", "UID FETCH 2 (UID BODY.PEEK[]<%d.65536>)" % off)
        lit = out[0].split(b"}\r\n", 1)[1][:-1]
        got += lit
        if len(lit) < 65536:
            break
        off += 65536
    typ, d = m.select("INBOX")
    typ, d = m.uid("FETCH", "2", "(BODY.PEEK[])")
    assert got == d[0][1]


def test_qresync_resync(box):
    m = login(box)
    for i in range(6):
        append(m, msg("qr %d" % i))
    r = Raw(box)
    r.login()
    r.cmd("e", "ENABLE QRESYNC")
    out, tag = r.cmd("s", "SELECT INBOX")
    uidv = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(out)).group(1))
    hms = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(out)).group(1))
    # another session expunges 2 and 4, flags 5
    m.select("INBOX")
    m.store("2,4", "+FLAGS", r"(\Deleted)")
    m.expunge()
    m.uid("STORE", "3", "+FLAGS", r"(\Seen)")  # UID 3 (sequence 2 after the expunge)
    r.cmd("n", "NOOP")
    r2 = Raw(box)
    r2.login()
    r2.cmd("e", "ENABLE QRESYNC")
    out, tag = r2.cmd("s", "SELECT INBOX (QRESYNC (%d %d 1:6))" % (uidv, hms))
    assert tag.startswith(b"s OK"), tag
    joined = b"\n".join(out)
    assert b"* VANISHED (EARLIER) 2,4" in joined, out
    out, tag = r2.cmd("f", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)" % hms)
    joined = b"\n".join(out)
    assert b"VANISHED (EARLIER) 2,4" in joined, out
    assert re.search(rb"\* \d+ FETCH \(UID 3 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)", joined), out
    assert b"UID 1 " not in joined
    m.logout()


@pytest.mark.skipif(shutil.which("mbsync") is None, reason="isync not installed")
def test_mbsync_both_ways(box, tmp_path):
    m = login(box)
    for i in range(4):
        append(m, msg("sync %d" % i))
    local = tmp_path / "mail"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(
        "IMAPAccount tern\nHost %s\nPort %d\nUser %s\nPass %s\nSSLType IMAPS\n"
        "CertificateFile %s\n\n"
        "IMAPStore tern-remote\nAccount tern\n\n"
        "MaildirStore local\nPath %s/\nInbox %s/INBOX\n\n"
        "Channel sync\nFar :tern-remote:\nNear :local:\nPatterns INBOX\nCreate Both\n"
        "SyncState *\nSync All\nExpunge Both\n" %
        (HOST, box.port("imaps"), USER, PASSWORD, box.cert_path, local, local))

    def run():
        p = subprocess.run(["mbsync", "-c", str(rc), "-a"], capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
    run()
    cur = local / "INBOX" / "cur"
    new = local / "INBOX" / "new"
    files = list(cur.iterdir()) + list(new.iterdir())
    assert len(files) == 4
    # local -> remote: a new message in the Maildir
    (new / ("%d.local.1:2," % int(time.time()))).write_bytes(msg("from local"))
    # remote change: flag one
    m.select("INBOX")
    m.store("1", "+FLAGS", r"(\Flagged)")
    run()
    typ, d = m.select("INBOX")
    assert int(d[0]) == 5
    typ, d = m.search(None, "SUBJECT", '"from local"')
    assert d[0] != b""
    flagged = [f for f in list(cur.iterdir()) + list(new.iterdir()) if "F" in f.name.split(",")[-1]]
    assert len(flagged) == 1
    # incremental: delete one locally
    victim = [f for f in cur.iterdir()][0]
    victim.unlink()
    run()
    run()
    typ, d = m.select("INBOX")
    assert int(d[0]) == 4
    m.logout()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
@pytest.mark.parametrize("scheme", ["imap", "imaps"])
def test_curl_fetch_and_search(box, scheme):
    m = login(box)
    append(m, msg("curl one", body="curl body alpha\r\n"))
    append(m, msg("curl two", body="curl body beta\r\n"))
    port = box.port("imaps" if scheme == "imaps" else "imap")
    base = "%s://%s:%d/INBOX" % (scheme, HOST, port)
    common = ["curl", "-sS", "-k", "--user", "%s:%s" % (USER, PASSWORD), "--max-time", "30"]
    if scheme == "imap":
        common.append("--ssl-reqd")
    p = subprocess.run(common + [base + "/;UID=2"], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"curl body beta" in p.stdout
    p = subprocess.run(common + ["-X", "SEARCH BODY alpha", base], capture_output=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert b"* SEARCH 1" in p.stdout, p.stdout
    m.logout()


def test_append_bare_newlines_stored_as_crlf(box):
    """A client that APPENDs with bare LF / bare CR line ends (imaplib
    would fix them, so this is a raw session): the message is stored with
    CRLF, so RFC822.SIZE and POP3's octet counts equal the bytes sent."""
    import poplib
    data = (b"From: a@example.org\nTo: carol@example.test\nSubject: bare\n\n"
            b"line one\nline two\rline three\r\n.dot line\nlast")
    want = (b"From: a@example.org\r\nTo: carol@example.test\r\nSubject: bare\r\n\r\n"
            b"line one\r\nline two\r\nline three\r\n.dot line\r\nlast")
    raw = ssl_ctx().wrap_socket(socket.create_connection((HOST, box.port("imaps")), timeout=10))
    f = raw.makefile("rb")
    f.readline()
    raw.sendall(b'a1 LOGIN "%s" "%s"\r\n' % (USER.encode(), PASSWORD.encode()))
    while not f.readline().startswith(b"a1 "):
        pass
    raw.sendall(b"a2 APPEND INBOX {%d}\r\n" % len(data))
    assert f.readline().startswith(b"+")
    raw.sendall(data + b"\r\n")
    line = f.readline()
    while not line.startswith(b"a2 "):
        line = f.readline()
    assert line.startswith(b"a2 OK"), line
    raw.sendall(b"a3 LOGOUT\r\n")
    raw.close()

    m = login(box)
    m.select("INBOX", readonly=True)
    typ, d = m.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
    assert d[0][1] == want
    assert b"RFC822.SIZE %d " % len(want) in d[0][0]
    m.logout()
    p = poplib.POP3_SSL(HOST, box.port("pop3s"), context=ssl_ctx(), timeout=10)
    p.user(USER)
    p.pass_(PASSWORD)
    assert p.list()[1] == [b"1 %d" % len(want)]
    resp, lines, octets = p.retr(1)
    assert b"\r\n".join(lines) == want
    assert resp == b"+OK %d octets" % len(want)
    p.quit()


def test_search_non_ascii(box):
    """SEARCH with UTF-8 needles (CHARSET UTF-8 and a literal): matches in
    8-bit, quoted-printable, base64 and ISO-8859-1 bodies and in an encoded
    Subject, case-insensitively beyond ASCII."""
    m = login(box)
    append(m, msg("one", extra="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         "Content-Transfer-Encoding: 8bit\r\n",
                  body="Un café à Zürich\r\n"))
    append(m, msg("two", extra="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
                         "Content-Transfer-Encoding: quoted-printable\r\n",
                  body="Gr=C3=BC=C3=9Fe aus M=C3=BCnchen\r\n"))
    append(m, msg("three", extra="MIME-Version: 1.0\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
                           "Content-Transfer-Encoding: base64\r\n",
                  body=base64.b64encode("Smørrebrød på bordet\r\n".encode("latin-1")).decode() + "\r\n"))
    append(m, msg("=?UTF-8?Q?=C3=A9t=C3=A9_report?="))
    m.select("INBOX")
    r = Raw(box)
    r.login()
    r.cmd("s", "SELECT INBOX")

    def search(key, needle):
        data = needle.encode()
        r.send(b"q SEARCH CHARSET UTF-8 %s {%d}\r\n" % (key.encode(), len(data)))
        assert r.line().startswith(b"+")
        r.send(data + b"\r\n")
        lines = []
        while True:
            l = r.line()
            if l.startswith(b"q "):
                assert l.startswith(b"q OK"), l
                break
            lines.append(l)
        return [int(x) for l in lines if l.startswith(b"* SEARCH") for x in l.split()[2:]]

    assert search("BODY", "café") == [1]
    assert search("BODY", "CAFÉ") == [1]          # case-insensitive beyond ASCII
    assert search("BODY", "zürich") == [1]
    assert search("BODY", "grüße") == [2]          # quoted-printable decoded
    assert search("BODY", "MÜNCHEN") == [2]
    assert search("BODY", "smørrebrød") == [3]     # base64 + ISO-8859-1 converted
    assert search("SUBJECT", "été") == [4]         # RFC 2047 decoded header
    assert search("TEXT", "été report") == [4]
    assert search("BODY", "ü") == [1, 2]           # one character: the LIKE path
    assert search("BODY", "nowhere ø") == []
    r.sock.close()
    m.logout()
