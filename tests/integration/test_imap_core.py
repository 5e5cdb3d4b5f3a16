"""IMAP core: greeting, capabilities, login, STARTTLS, mailbox commands,
IDLE with concurrent delivery, COMPRESS=DEFLATE, parser error paths.

The message commands (FETCH, STORE, SEARCH, ...) are tested by their own
files. Here: python imaplib for the happy paths, raw sockets for exact
transcripts."""
import imaplib
import re
import smtplib
import socket
import ssl
import subprocess
import shutil
import signal
import time
import zlib

import pytest

from conftest import HOST, ssl_ctx

USER = "alice@example.test"
PASSWORD = "correct horse 1"

PRE_TLS = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS LOGINDISABLED"
PRE_TLS_LOOPBACK = ("IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE STARTTLS "
                    "AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1 AUTH=PLAIN AUTH=LOGIN")
# Over TLS the -PLUS mechanisms come too: the test clients' TLS (1.2 with
# the extended master secret, or 1.3) has a channel binding (tls/tls.c).
PRE_AUTH_TLS = ("IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE AUTH=SCRAM-SHA-256-PLUS "
                "AUTH=SCRAM-SHA-256 AUTH=SCRAM-SHA-1-PLUS AUTH=SCRAM-SHA-1 AUTH=PLAIN AUTH=LOGIN")
POST_AUTH = ("IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT CHILDREN UIDPLUS "
             "MOVE MULTIAPPEND REPLACE CATENATE URLAUTH SPECIAL-USE CREATE-SPECIAL-USE "
             "LIST-EXTENDED LIST-STATUS ESEARCH SEARCHRES WITHIN PARTIAL CONTEXT=SEARCH "
             "CONTEXT=SORT STATUS=SIZE UTF8=ACCEPT "
             "CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE APPENDLIMIT=52428800 BINARY "
             "SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT THREAD=REFERENCES ESORT "
             "OBJECTID SAVEDATE PREVIEW UNAUTHENTICATE ACL RIGHTS=texk LIST-MYRIGHTS "
             "METADATA METADATA-SERVER NOTIFY UIDONLY INPROGRESS COMPRESS=DEFLATE")


class Raw:
    """A raw IMAP connection for exact transcripts."""

    def __init__(self, tern, tls=True, port=None):
        if tls:
            s = socket.create_connection((HOST, port or tern.port("imaps")), timeout=10)
            self.sock = ssl_ctx().wrap_socket(s, server_hostname="localhost")
        else:
            self.sock = socket.create_connection((HOST, port or tern.port("imap")), timeout=10)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode("utf-8", "replace")

    def until(self, tag):
        """Lines up to and including the tagged reply."""
        out = []
        while True:
            l = self.line()
            out.append(l)
            if l.startswith(tag + " "):
                return out

    def cmd(self, tag, text):
        self.send("%s %s\r\n" % (tag, text))
        return self.until(tag)

    def login(self, user=USER, password=PASSWORD):
        r = self.cmd("L1", 'LOGIN "%s" "%s"' % (user, password))
        assert r[-1].startswith("L1 OK"), r

    def closed(self, timeout=5):
        """True once the server has closed; what it sent first stays in buf."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except socket.timeout:
            return False
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True

    def close(self):
        self.sock.close()


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


def imaps(tern):
    return imaplib.IMAP4_SSL(HOST, tern.port("imaps"), ssl_context=ssl_ctx())


def logged_in(tern):
    m = imaps(tern)
    m.login(USER, PASSWORD)
    return m


def inbox_row(tern):
    db = tern.db()
    try:
        return db.execute(
            "SELECT m.id, m.uidvalidity, m.highestmodseq FROM mailboxes m "
            "JOIN accounts a ON a.id = m.account_id WHERE a.address = ? AND m.name = 'INBOX'",
            (USER,)).fetchone()
    finally:
        db.close()


def deliver(tern, subject="hello", to=USER):
    msg = ("From: bob@remote.test\r\nTo: %s\r\nSubject: %s\r\n"
           "Message-ID: <%s@remote.test>\r\n\r\nbody\r\n" % (to, subject, time.time()))
    with smtplib.SMTP(HOST, tern.port("smtp"), timeout=10) as s:
        s.sendmail("bob@remote.test", [to], msg)


# ---- greeting, capabilities -------------------------------------------------

def test_capabilities_plaintext(box):
    r = Raw(box, tls=False)
    assert r.greeting == "* OK [CAPABILITY %s] tern IMAP4rev2 ready" % PRE_TLS
    assert r.cmd("a", "CAPABILITY") == ["* CAPABILITY " + PRE_TLS, "a OK CAPABILITY completed"]
    assert r.cmd("b", 'LOGIN "%s" "%s"' % (USER, PASSWORD)) == [
        "b NO [PRIVACYREQUIRED] Use STARTTLS first"]
    assert r.cmd("c", "AUTHENTICATE PLAIN") == ["c NO [PRIVACYREQUIRED] Use STARTTLS first"]
    assert r.cmd("d", "LOGOUT") == ["* BYE tern logging out", "d OK LOGOUT completed"]


def test_capabilities_loopback_plaintext_allowed(tern_factory):
    t = tern_factory(extra_config="plaintext_loopback = true\n")
    t.add_user(USER, PASSWORD)
    r = Raw(t, tls=False)
    assert r.cmd("a", "CAPABILITY")[0] == "* CAPABILITY " + PRE_TLS_LOOPBACK
    r.login()


def test_capabilities_tls_and_after_login(box):
    r = Raw(box)
    assert r.greeting == "* OK [CAPABILITY %s] tern IMAP4rev2 ready" % PRE_AUTH_TLS
    r2 = r.cmd("a", 'LOGIN "%s" "%s"' % (USER, PASSWORD))
    assert r2 == ["a OK [CAPABILITY %s] Logged in" % POST_AUTH]
    assert r.cmd("b", "CAPABILITY") == ["* CAPABILITY " + POST_AUTH, "b OK CAPABILITY completed"]


def test_imaplib_capabilities(box):
    m = imaps(box)
    assert "AUTH=PLAIN" in m.capabilities
    m.login(USER, PASSWORD)
    typ, data = m.capability()
    assert data[0].decode() == POST_AUTH
    m.logout()


def test_starttls(box):
    m = imaplib.IMAP4(HOST, box.port("imap"))
    assert "LOGINDISABLED" in m.capabilities
    m.starttls(ssl_context=ssl_ctx())
    typ, data = m.capability()
    assert data[0].decode() == PRE_AUTH_TLS
    m.login(USER, PASSWORD)
    m.select("INBOX")
    m.logout()


def test_starttls_injection_discarded(box):
    r = Raw(box, tls=False)
    r.send("s STARTTLS\r\nx CAPABILITY\r\n")
    assert r.line() == "s OK Begin TLS negotiation now"
    r.sock = ssl_ctx().wrap_socket(r.sock, server_hostname="localhost")
    assert r.cmd("y", "NOOP") == ["y OK NOOP completed"]


def test_login_failures(box):
    r = Raw(box)
    assert r.cmd("a", 'LOGIN "%s" wrong' % USER) == [
        "a NO [AUTHENTICATIONFAILED] Authentication failed"]
    assert r.cmd("b", "LOGIN nobody@example.test x") == [
        "b NO [AUTHENTICATIONFAILED] Authentication failed"]
    assert r.cmd("c", "LOGIN onlyone") == ["c BAD Usage: LOGIN user password"]
    r.login()
    assert r.cmd("d", "LOGIN a b") == ["d BAD Already authenticated"]


def test_login_literals(box):
    r = Raw(box)
    r.send("a LOGIN {%d}\r\n" % len(USER))
    assert r.line() == "+ Ready for literal data"
    r.send(USER + " {%d+}\r\n%s\r\n" % (len(PASSWORD), PASSWORD))
    assert r.until("a")[-1].startswith("a OK [CAPABILITY")


def test_authenticate_plain_and_login(box):
    import base64
    ir = base64.b64encode(("\0%s\0%s" % (USER, PASSWORD)).encode()).decode()
    r = Raw(box)
    assert r.cmd("a", "AUTHENTICATE PLAIN " + ir)[-1].startswith("a OK [CAPABILITY")
    r = Raw(box)
    r.send("a AUTHENTICATE PLAIN\r\n")
    assert r.line() == "+ "
    r.send(ir + "\r\n")
    assert r.until("a")[-1].startswith("a OK")
    r = Raw(box)
    r.send("a AUTHENTICATE LOGIN\r\n")
    assert r.line().startswith("+ ")
    r.send(base64.b64encode(USER.encode()).decode() + "\r\n")
    assert r.line().startswith("+ ")
    r.send(base64.b64encode(PASSWORD.encode()).decode() + "\r\n")
    assert r.until("a")[-1].startswith("a OK")
    # cancel and bad base64
    r = Raw(box)
    r.send("b AUTHENTICATE PLAIN\r\n")
    r.line()
    r.send("*\r\n")
    assert r.until("b") == ["b BAD AUTHENTICATE cancelled"]
    r.send("c AUTHENTICATE PLAIN\r\n")
    r.line()
    r.send("!!!\r\n")
    assert r.until("c") == ["c BAD Invalid base64"]
    assert r.cmd("d", "AUTHENTICATE CRAM-MD5") == [
        "d NO [CANNOT] Unsupported authentication mechanism"]
    # imaplib's helper
    m = imaps(box)
    m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (USER, PASSWORD)).encode())
    m.logout()


def test_state_errors(box):
    r = Raw(box)
    assert r.cmd("a", "SELECT INBOX") == ["a BAD Log in first"]
    r.login()
    assert r.cmd("b", "CLOSE") == ["b BAD No mailbox selected"]
    assert r.cmd("c", "UID LIST \"\" *") == ["c BAD UID not allowed with this command"]
    assert r.cmd("d", "FROBNICATE") == ["d BAD Unknown command"]


# ---- ID, NAMESPACE, ENABLE ----------------------------------------------------

def test_id_namespace_enable(box):
    r = Raw(box)
    assert r.cmd("a", 'ID ("name" "Thunderbird" "version" "115")') == [
        '* ID ("name" "tern" "version" "0.1.0")', "a OK ID completed"]
    assert r.cmd("b", "ID NIL")[-1] == "b OK ID completed"
    r.login()
    assert r.cmd("c", "NAMESPACE") == ['* NAMESPACE (("" "/")) NIL NIL', "c OK NAMESPACE completed"]
    assert r.cmd("d", "ENABLE UTF8=ACCEPT CONDSTORE X-UNKNOWN") == [
        "* ENABLED UTF8=ACCEPT CONDSTORE", "d OK ENABLE completed"]
    assert r.cmd("e", "ENABLE CONDSTORE QRESYNC") == ["* ENABLED QRESYNC", "e OK ENABLE completed"]


# ---- SELECT / EXAMINE -----------------------------------------------------

def test_select_examine(box):
    deliver(box, "one")
    r = Raw(box)
    r.login()
    out = r.cmd("a", "SELECT INBOX")
    uv = inbox_row(box)[1]
    assert out[0] == "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)"
    assert out[1] == ("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] "
                      "Flags permitted")
    assert out[2] == "* 1 EXISTS"
    assert out[3] == "* 1 RECENT"  # the first session to see it
    assert out[4] == "* OK [UNSEEN 1] First unseen"
    assert out[5] == "* OK [UIDVALIDITY %d] UIDs valid" % uv
    assert out[6] == "* OK [UIDNEXT 2] Predicted next UID"
    assert out[7].startswith("* OK [HIGHESTMODSEQ ")
    assert out[8] == "* OK [MAILBOXID (F%d)] Ok" % uv  # RFC 8474 §4.2
    assert out[9] == "a OK [READ-WRITE] SELECT completed"
    out = r.cmd("b", "EXAMINE inbox")
    assert out[0] == "* OK [CLOSED] Previous mailbox closed"
    assert "* OK [PERMANENTFLAGS ()] Read-only mailbox" in out
    assert out[-1] == "b OK [READ-ONLY] EXAMINE completed"
    # a failed SELECT still closed the previous mailbox (RFC 9051 §6.3.2)
    assert r.cmd("c", "SELECT nosuch") == ["* OK [CLOSED] Previous mailbox closed",
                                           "c NO [NONEXISTENT] No such mailbox"]
    assert r.cmd("d", "NOOP") == ["d OK NOOP completed"]
    assert r.cmd("e", "CHECK") == ["e BAD No mailbox selected"]
    r.cmd("f", "SELECT INBOX")
    assert r.cmd("g", "UNSELECT") == ["g OK UNSELECT completed"]
    r.cmd("h", "SELECT INBOX")
    assert r.cmd("i", "CLOSE") == ["i OK CLOSE completed"]


def test_select_rev2_and_condstore(box):
    r = Raw(box)
    r.login()
    r.cmd("a", "ENABLE IMAP4rev2")
    out = r.cmd("b", "SELECT INBOX (CONDSTORE)")
    assert "* 0 RECENT" not in out
    assert '* LIST () "/" INBOX' in out
    assert r.cmd("c", "SELECT INBOX (QRESYNC (1 1))") == ["c BAD QRESYNC is not enabled"]


def test_qresync_select_vanished(box):
    deliver(box, "one")
    deliver(box, "two")
    deliver(box, "three")
    mbid, uv, hms = inbox_row(box)
    # a POP3-free expunge: through the store's own path is the message
    # engineer's; emulate a committed expunge of uid 2 directly
    db = box.db()
    db.execute("DELETE FROM mailbox_entries WHERE mailbox_id=? AND uid=2", (mbid,))
    db.execute("INSERT INTO expunged(mailbox_id, uid, modseq) VALUES(?, 2, ?)", (mbid, hms + 1))
    db.execute("UPDATE mailbox_entries SET flags=1, modseq=? WHERE mailbox_id=? AND uid=3",
               (hms + 2, mbid))
    db.execute("UPDATE mailboxes SET highestmodseq=? WHERE id=?", (hms + 2, mbid))
    db.commit()
    db.close()
    r = Raw(box)
    r.login()
    r.cmd("a", "ENABLE QRESYNC")
    out = r.cmd("b", "SELECT INBOX (QRESYNC (%d %d 1:3))" % (uv, hms))
    assert "* VANISHED (EARLIER) 2" in out
    assert "* 2 FETCH (UID 3 FLAGS (\\Seen \\Recent) MODSEQ (%d))" % (hms + 2) in out
    assert "* OK [HIGHESTMODSEQ %d] Highest" % (hms + 2) in out


# ---- LIST, LSUB, CREATE, DELETE, RENAME, SUBSCRIBE, STATUS ------------------

def list_lines(r, tag, text):
    return sorted(l for l in r.cmd(tag, text) if l.startswith("* "))


def test_list_special_use_and_lsub(box):
    r = Raw(box)
    r.login()
    assert list_lines(r, "a", 'LIST "" "*"') == sorted([
        '* LIST (\\HasNoChildren) "/" INBOX',
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ])
    lsub = list_lines(r, "b", 'LSUB "" "*"')
    assert '* LSUB (\\HasNoChildren \\Sent) "/" "Sent"' in lsub
    assert len(lsub) == 6
    assert r.cmd("c", 'LIST "" ""') == ['* LIST (\\Noselect) "/" ""', "c OK LIST completed"]
    assert list_lines(r, "d", 'LIST (SPECIAL-USE) "" "*"') == sorted([
        '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
        '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
        '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
        '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
        '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ])
    assert list_lines(r, "e", 'LIST "" "inbox"') == ['* LIST (\\HasNoChildren) "/" INBOX']


def test_create_delete_rename(box):
    m = logged_in(box)
    assert m.create("Work/")[0] == "OK"           # trailing separator accepted
    assert m.create("Work/Projects/2024")[0] == "OK"  # parents created
    typ, data = m.create("Work")
    assert typ == "NO" and b"[ALREADYEXISTS]" in data[0]
    typ, data = m.list('""', "Work*")
    names = sorted(d.decode() for d in data)
    assert names == sorted([
        '(\\HasChildren) "/" "Work"',
        '(\\HasChildren) "/" "Work/Projects"',
        '(\\HasNoChildren) "/" "Work/Projects/2024"',
    ])
    typ, data = m.list("Work/", "%")
    assert [d.decode() for d in data] == ['(\\HasChildren) "/" "Work/Projects"']
    typ, data = m.delete("Work")
    assert typ == "NO" and b"[HASCHILDREN]" in data[0]
    assert m.rename("Work", "Job")[0] == "OK"
    typ, data = m.list('""', "Job/*")
    assert len(data) == 2 and b"Job/Projects/2024" in data[1]
    typ, data = m.rename("Nope", "X")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    typ, data = m.rename("Job", "Sent")
    assert typ == "NO" and b"[ALREADYEXISTS]" in data[0]
    assert m.delete("Job/Projects/2024")[0] == "OK"
    typ, data = m.delete("INBOX")
    assert typ == "NO"
    typ, data = m.delete("Nope")
    assert typ == "NO" and b"[NONEXISTENT]" in data[0]
    m.logout()


def test_rename_inbox(box):
    deliver(box, "one")
    deliver(box, "two")
    m = logged_in(box)
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY)")
    before = data[0].decode()
    assert m.rename("INBOX", "Old/Inbox")[0] == "OK"
    typ, data = m.status("Old/Inbox", "(MESSAGES UIDNEXT)")
    assert data[0].decode() == '"Old/Inbox" (MESSAGES 2 UIDNEXT 3)'
    typ, data = m.status("INBOX", "(MESSAGES UIDNEXT)")
    assert data[0].decode() == "INBOX (MESSAGES 0 UIDNEXT 3)"   # UIDs never reused
    assert "UIDVALIDITY" in before
    m.logout()


def test_subscribe(box):
    m = logged_in(box)
    m.create("Lists")
    assert m.unsubscribe("Lists")[0] == "OK"
    typ, data = m.lsub('""', "Lists")
    assert data == [None]
    assert m.subscribe("Lists")[0] == "OK"
    typ, data = m.lsub('""', "Lists")
    assert data[0].decode() == '(\\HasNoChildren) "/" "Lists"'
    typ, data = m.subscribe("Nope")
    assert typ == "NO"
    r = Raw(box)
    r.login()
    r.cmd("x", "UNSUBSCRIBE Lists")
    out = list_lines(r, "a", 'LIST (SUBSCRIBED) "" "*" RETURN (CHILDREN)')
    assert '* LIST (\\HasNoChildren \\Subscribed) "/" INBOX' in out
    assert not any('"Lists"' in l for l in out)
    m.logout()


def test_lsub_unsubscribed_parent_is_noselect(box):
    """RFC 3501 6.3.9: Lists/rust is subscribed, Lists is not. LSUB with
    "%" returns Lists flagged \\Noselect; with "*" only Lists/rust."""
    r = Raw(box)
    r.login()
    assert r.cmd("a", "CREATE Lists/rust")[-1].startswith("a OK")
    assert r.cmd("b", "UNSUBSCRIBE Lists")[-1].startswith("b OK")
    assert r.cmd("c", "SUBSCRIBE Lists/rust")[-1].startswith("c OK")
    out = list_lines(r, "d", 'LSUB "" "Lis%"')
    assert out == ['* LSUB (\\Noselect \\HasChildren) "/" "Lists"'], out
    out = list_lines(r, "e", 'LSUB "" "Lists*"')
    assert out == ['* LSUB (\\HasNoChildren) "/" "Lists/rust"'], out
    out = list_lines(r, "f", 'LSUB "Lists/" "%"')
    assert out == ['* LSUB (\\HasNoChildren) "/" "Lists/rust"'], out
    r.close()


def test_status_and_list_status(box):
    deliver(box, "a")
    deliver(box, "b")
    r = Raw(box)
    r.login()
    out = r.cmd("a", "STATUS INBOX (MESSAGES UIDNEXT UNSEEN DELETED SIZE HIGHESTMODSEQ RECENT APPENDLIMIT)")
    size = box.db().execute(
        "SELECT sum(m.size) FROM messages m JOIN mailbox_entries e ON e.message_id = m.id "
        "WHERE e.mailbox_id = ?", (inbox_row(box)[0],)).fetchone()[0]
    assert out[0].startswith("* STATUS INBOX (MESSAGES 2 RECENT 2 UIDNEXT 3 UNSEEN 2 DELETED 0 SIZE %d HIGHESTMODSEQ " % size)
    assert out[0].endswith(" APPENDLIMIT 52428800)")
    assert r.cmd("b", "STATUS Nope (MESSAGES)") == ["b NO [NONEXISTENT] No such mailbox"]
    assert r.cmd("c", "STATUS INBOX (BOGUS)") == ["c BAD Usage: STATUS mailbox (items)"]
    out = r.cmd("d", 'LIST "" "INBOX" RETURN (STATUS (MESSAGES UNSEEN))')
    assert out == ['* LIST (\\HasNoChildren) "/" INBOX', "* STATUS INBOX (MESSAGES 2 UNSEEN 2)",
                   "d OK LIST completed"]


def test_utf8_names(box):
    r = Raw(box)
    r.login()
    assert re.match(r"a OK \[MAILBOXID \(F\d+\)\] CREATE completed$",
                    r.cmd("a", 'CREATE "Entw&APw-rfe"')[-1])
    assert list_lines(r, "b", 'LIST "" "Entw*"') == ['* LIST (\\HasNoChildren) "/" "Entw&APw-rfe"']
    assert r.cmd("c", 'CREATE "bad&name"')[-1] == "c NO [CANNOT] Invalid mailbox name"
    assert r.cmd("d", 'CREATE "Entwürfe2"')[-1] == "d NO [CANNOT] Invalid mailbox name"
    r.cmd("e", "ENABLE UTF8=ACCEPT")
    assert list_lines(r, "f", 'LIST "" "Entw*"') == ['* LIST (\\HasNoChildren) "/" "Entwürfe"']
    assert re.match(r"g OK \[MAILBOXID \(F\d+\)\] CREATE completed$",
                    r.cmd("g", 'CREATE "Entwürfe2"')[-1])
    r2 = Raw(box)
    r2.login()
    assert '* LIST (\\HasNoChildren) "/" "Entw&APw-rfe2"' in list_lines(r2, "h", 'LIST "" "*"')


# ---- quota --------------------------------------------------------------------

def test_quota(box):
    r = Raw(box)
    r.login()
    assert r.cmd("a", "GETQUOTAROOT INBOX") == ["* QUOTAROOT INBOX", "a OK GETQUOTAROOT completed"]
    assert r.cmd("b", 'GETQUOTA ""') == ["b NO [NONEXISTENT] No such quota root"]
    db = box.db()
    db.execute("UPDATE accounts SET quota_bytes = 1048576 WHERE address = ?", (USER,))
    db.commit()
    db.close()
    assert r.cmd("c", "GETQUOTAROOT INBOX") == [
        '* QUOTAROOT INBOX ""', '* QUOTA "" (STORAGE 0 1024)', "c OK GETQUOTAROOT completed"]


# ---- IDLE and concurrent changes ---------------------------------------------

def test_idle_exists_on_smtp_delivery(box):
    r = Raw(box)
    r.login()
    r.cmd("a", "SELECT INBOX")
    r.send("b IDLE\r\n")
    assert r.line() == "+ idling"
    deliver(box, "while idling")
    assert r.line() == "* 1 EXISTS"
    assert r.line() == "* 1 RECENT"
    r.send("DONE\r\n")
    assert r.until("b") == ["b OK IDLE terminated"]
    r.send("c IDLE\r\n")
    r.line()
    r.send("NOTDONE\r\n")
    assert r.until("c") == ["c BAD Expected DONE"]


def test_idle_expunge_from_pop3(box):
    import poplib
    deliver(box, "one")
    deliver(box, "two")
    r = Raw(box)
    r.login()
    r.cmd("a", "SELECT INBOX")
    r.send("b IDLE\r\n")
    assert r.line() == "+ idling"
    p = poplib.POP3_SSL(HOST, box.port("pop3s"), context=ssl_ctx())
    p.user(USER)
    p.pass_(PASSWORD)
    p.dele(1)
    p.quit()
    assert r.line() == "* 1 EXPUNGE"
    r.send("DONE\r\n")
    assert r.until("b") == ["b OK IDLE terminated"]
    out = r.cmd("c", "STATUS INBOX (MESSAGES)")
    assert out[0] == "* STATUS INBOX (MESSAGES 1)"


def test_exists_at_next_command(box):
    r = Raw(box)
    r.login()
    r.cmd("a", "SELECT INBOX")
    deliver(box, "x")
    time.sleep(0.3)
    assert r.cmd("b", "NOOP") == ["* 1 EXISTS", "* 1 RECENT", "b OK NOOP completed"]


def test_idle_qresync_vanished(box):
    import poplib
    deliver(box, "one")
    r = Raw(box)
    r.login()
    r.cmd("e", "ENABLE QRESYNC")
    r.cmd("a", "SELECT INBOX")
    r.send("b IDLE\r\n")
    r.line()
    p = poplib.POP3_SSL(HOST, box.port("pop3s"), context=ssl_ctx())
    p.user(USER)
    p.pass_(PASSWORD)
    p.dele(1)
    p.quit()
    assert r.line() == "* VANISHED 1"
    r.send("DONE\r\n")
    r.until("b")


# ---- parser error paths ---------------------------------------------------

def test_parser_errors(box):
    r = Raw(box)
    assert r.cmd("a", 'LOGIN "unterminated') == ["a BAD unterminated quoted string"]
    r.send("\r\n")  # empty line ignored
    r.send("+tag NOOP\r\n")
    assert r.line() == "* BAD invalid tag"
    r.send("b\r\n")
    assert r.line() == "b BAD missing command"
    assert r.cmd("c", "NOOP (a b") == ["c BAD unbalanced parentheses"]
    assert r.cmd("d", "NOOP a)") == ["d BAD unbalanced parentheses"]
    assert r.cmd("e", "NOOP") == ["e OK NOOP completed"]


def test_literal_too_big_and_nonsync_skipped(box):
    r = Raw(box)
    # before login literals are limited to 8 KiB
    r.send("a LOGIN {100000}\r\n")
    assert r.line() == "a BAD [TOOBIG] literal too big"
    # a non-synchronising literal is read and thrown away, not executed
    lit = "x" * 19992 + "c NOOP\r\n"          # 20000 bytes that look like a command
    r.send("b LOGIN {20000+}\r\n" + lit + "\r\n")
    assert r.line() == "b BAD [TOOBIG] literal too big"
    assert r.cmd("d", "NOOP") == ["d OK NOOP completed"]


def test_literals_split_across_packets(box):
    r = Raw(box)
    pieces = ["a LO", "GIN {%d}" % len(USER), "\r\n"]
    for p in pieces:
        r.send(p)
        time.sleep(0.05)
    assert r.line() == "+ Ready for literal data"
    for ch in USER:
        r.send(ch)
        time.sleep(0.002)
    r.send(' "%s"' % PASSWORD)
    time.sleep(0.05)
    r.send("\r\n")
    assert r.until("a")[-1].startswith("a OK")


def test_too_many_errors(box):
    r = Raw(box)
    for i in range(19):
        assert r.cmd("t%d" % i, "BOGUS") == ["t%d BAD Unknown command" % i]
    r.send("last BOGUS\r\n")
    assert r.line() == "last BAD Unknown command"
    assert r.line() == "* BYE Too many invalid commands"
    assert r.closed()


def test_line_too_long(box):
    r = Raw(box)
    r.send("a NOOP " + "x" * 70000 + "\r\n")
    assert r.line() == "a BAD Line too long"
    assert r.cmd("b", "NOOP") == ["b OK NOOP completed"]


def test_line_too_long_invalid_tag(box):
    # The tag of an over-long line is echoed only if it is a valid tag
    # (RFC 9051: no "%", "*", "\\" or ")"); otherwise the BAD is untagged.
    r = Raw(box)
    for tag in ("%a", "a*", "a\\b", "a)"):
        r.send(tag + " NOOP " + "x" * 70000 + "\r\n")
        assert r.line() == "* BAD Line too long"
    assert r.cmd("b", "NOOP") == ["b OK NOOP completed"]


def test_pipelining_order(box):
    r = Raw(box)
    r.send('a LOGIN "%s" "%s"\r\nb SELECT INBOX\r\nc NOOP\r\n' % (USER, PASSWORD))
    out = r.until("c")
    tags = [l.split()[0] for l in out if not l.startswith("*")]
    assert tags == ["a", "b", "c"]


# ---- COMPRESS=DEFLATE ---------------------------------------------------------

class Deflate:
    def __init__(self, raw):
        self.raw = raw
        self.c = zlib.compressobj(6, zlib.DEFLATED, -15)
        self.d = zlib.decompressobj(-15)
        self.buf = b""

    def send(self, text):
        self.raw.sock.sendall(self.c.compress(text.encode()) + self.c.flush(zlib.Z_SYNC_FLUSH))

    def send_split(self, text):
        data = self.c.compress(text.encode()) + self.c.flush(zlib.Z_SYNC_FLUSH)
        for i in range(len(data)):
            self.raw.sock.sendall(data[i:i + 1])
            time.sleep(0.001)

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.raw.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += self.d.decompress(d)
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l.decode()

    def until(self, tag):
        out = []
        while True:
            l = self.line()
            out.append(l)
            if l.startswith(tag + " "):
                return out


def test_compress_deflate(box):
    deliver(box, "x")
    for tls in (True, False):
        if tls:
            r = Raw(box)
        else:
            continue
        r.login()
        assert r.cmd("a", "COMPRESS DEFLATE") == ["a OK DEFLATE active"]
        z = Deflate(r)
        z.send("b NOOP\r\n")
        assert z.until("b") == ["b OK NOOP completed"]
        z.send("c CAPABILITY\r\nd SELECT INBOX\r\n")   # two commands in one block
        out = z.until("d")
        assert "COMPRESS=DEFLATE" not in out[0]
        assert "* 1 EXISTS" in out
        z.send_split("e LIST \"\" \"*\"\r\n")       # one byte per packet
        assert len(z.until("e")) == 7
        z.send("f COMPRESS DEFLATE\r\n")
        assert z.until("f") == ["f NO [COMPRESSIONACTIVE] Compression already active"]
        z.send("g LOGOUT\r\n")
        assert z.until("g")[-1] == "g OK LOGOUT completed"


def test_compress_plaintext_loopback(tern_factory):
    t = tern_factory(extra_config="plaintext_loopback = true\n")
    t.add_user(USER, PASSWORD)
    r = Raw(t, tls=False)
    r.login()
    assert r.cmd("a", "COMPRESS DEFLATE") == ["a OK DEFLATE active"]
    z = Deflate(r)
    z.send("b IDLE\r\n")
    assert z.line() == "+ idling"
    z.send("DONE\r\n")
    assert z.until("b") == ["b OK IDLE terminated"]


# ---- curl -------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("curl") is None, reason="curl not installed")
def test_curl_list(box):
    for url in ("imaps://%s:%d/" % (HOST, box.port("imaps")),
                "imap://%s:%d/" % (HOST, box.port("imap"))):
        out = subprocess.run(["curl", "-sk", "--ssl-reqd", "--user", "%s:%s" % (USER, PASSWORD),
                              url], capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        assert '"/" INBOX' in out.stdout and '"Sent"' in out.stdout


def test_expungeissued_then_expunge_at_noop(box):
    """Another session expunges message 2: FETCH, STORE and SEARCH may not
    send EXPUNGE (RFC 9051 7.5.1), so they answer OK [EXPUNGEISSUED] and
    sequence numbers stay as they were; NOOP then reports "* 2 EXPUNGE"."""
    for i in range(3):
        deliver(box, "m%d" % i)
    a = Raw(box)
    a.login()
    assert a.cmd("a1", "SELECT INBOX")[-1].startswith("a1 OK")
    b = logged_in(box)
    b.select("INBOX")
    b.store("2", "+FLAGS", r"(\Deleted)")
    b.expunge()
    b.logout()
    time.sleep(0.3)
    r = a.cmd("a2", "FETCH 1:3 (UID)")
    assert r[-1].startswith("a2 OK [EXPUNGEISSUED]"), r
    assert not any("EXPUNGE" in l for l in r[:-1])
    assert [l.split()[1] for l in r[:-1]] == ["1", "3"]
    r = a.cmd("a3", "SEARCH ALL")
    assert r[-1].startswith("a3 OK [EXPUNGEISSUED]"), r
    r = a.cmd("a4", "STORE 1 +FLAGS (\\Flagged)")
    assert r[-1].startswith("a4 OK [EXPUNGEISSUED]"), r
    r = a.cmd("a5", "NOOP")
    assert "* 2 EXPUNGE" in r and r[-1].startswith("a5 OK"), r
    r = a.cmd("a6", "FETCH 1:* (UID)")
    assert r[-1] == "a6 OK FETCH completed", r
    a.close()


def test_recent_belongs_to_one_session(box):
    """RFC 3501 2.3.2: \\Recent is set in the first session to see a
    message; EXAMINE looks without taking it; IMAP4rev2 has no \\Recent;
    and the claim survives a restart."""
    deliver(box, "one")
    deliver(box, "two")
    c = Raw(box)
    c.login()
    out = c.cmd("x", "EXAMINE INBOX")
    assert "* 2 RECENT" in out  # looks...
    a = Raw(box)
    a.login()
    out = a.cmd("a1", "SELECT INBOX")
    assert "* 2 RECENT" in out  # ...but does not take
    assert a.cmd("a2", "FETCH 1:2 (FLAGS)")[:2] == ["* 1 FETCH (FLAGS (\\Recent))",
                                                    "* 2 FETCH (FLAGS (\\Recent))"]
    assert a.cmd("a3", "SEARCH RECENT") == ["* SEARCH 1 2", "a3 OK SEARCH completed"]
    a.cmd("a4", "STORE 1 +FLAGS.SILENT (\\Seen)")
    assert a.cmd("a5", "SEARCH NEW") == ["* SEARCH 2", "a5 OK SEARCH completed"]
    assert a.cmd("a6", "SEARCH OLD") == ["* SEARCH", "a6 OK SEARCH completed"]
    b = Raw(box)
    b.login()
    out = b.cmd("b1", "SELECT INBOX")
    assert "* 0 RECENT" in out
    assert b.cmd("b2", "SEARCH OLD") == ["* SEARCH 1 2", "b2 OK SEARCH completed"]
    assert b.cmd("b3", "STATUS Sent (RECENT)")[0] == "* STATUS \"Sent\" (RECENT 0)"
    # a new message: the first of the selected sessions to be told takes it
    deliver(box, "three")
    time.sleep(0.3)
    assert b.cmd("b4", "NOOP") == ["* 3 EXISTS", "* 1 RECENT", "b4 OK NOOP completed"]
    assert a.cmd("a7", "NOOP") == ["* 3 EXISTS", "* 2 RECENT", "a7 OK NOOP completed"]
    assert b.cmd("b5", "FETCH 3 (FLAGS)")[0] == "* 3 FETCH (FLAGS (\\Recent))"
    assert a.cmd("a8", "FETCH 3 (FLAGS)")[0] == "* 3 FETCH (FLAGS ())"
    # IMAP4rev2: none of it
    d = Raw(box)
    d.login()
    d.cmd("d0", "ENABLE IMAP4rev2")
    deliver(box, "four")
    out = d.cmd("d1", "SELECT INBOX")
    assert not any("RECENT" in l for l in out)
    assert "\\Recent" not in " ".join(d.cmd("d2", "FETCH 1:* (FLAGS)"))
    for r in (a, b, c, d):
        r.close()
    # four was not claimed (rev2); after a restart it still is recent, the
    # others are not
    box.restart()
    e = Raw(box)
    e.login()
    assert "* 1 RECENT" in e.cmd("e1", "SELECT INBOX")
    assert e.cmd("e2", "SEARCH RECENT") == ["* SEARCH 4", "e2 OK SEARCH completed"]
    e.close()


def test_shutdown_during_fetch_literal_closes_without_bye_inside_it(box):
    # A FETCH still streaming a literal when the shutdown grace ends is cut
    # off. A "* BYE" then would be counted as bytes of the literal.
    body = (b"z" * 998 + b"\r\n") * 8000
    msg = b"From: bob@remote.test\r\nSubject: big\r\n\r\n" + body
    m = logged_in(box)
    assert m.append("INBOX", None, None, msg)[0] == "OK"
    m.logout()
    r = Raw(box)
    r.login()
    r.cmd("s", "SELECT INBOX")
    r.send("f FETCH 1 BODY[]\r\n")
    assert r.line() == "* 1 FETCH (BODY[] {%d}" % len(msg)
    box.proc.send_signal(signal.SIGTERM)  # the client reads nothing until the grace is over
    time.sleep(3)
    assert r.closed(timeout=15)
    assert len(r.buf) < len(msg)
    assert r.buf == msg[:len(r.buf)]
