"""POP3 (issue 4) against the real binary: poplib, raw transcripts, the
store side of QUIT/DELE/RETR, and the IN-USE lock.

Messages are put into INBOX in one of two ways:
  * put_message() writes the rows the way store_deliver() does (messages,
    mailbox_entries, uidnext/highestmodseq) through a second SQLite
    connection, which the running server sees at once (WAL). That gives
    exact control of the bytes (dots at line starts, sizes) and does not
    depend on SMTP;
  * smtp_deliver() sends through the server's own SMTP listener (mx mode);
    those tests skip if SMTP is not answering.
fetchmail and curl live in test_pop3_clients.py.
"""
import poplib
import signal
import socket
import smtplib
import ssl
import time

import pytest

from conftest import HOST, ssl_ctx

USER = "alice@example.test"
PASSWORD = "correct horse 1"  # a space: PASS takes the rest of the line


# ---- helpers ---------------------------------------------------------------

def put_message(tern, address, data, flags=0):
    """Deliver data into address's INBOX like store_deliver(); returns uid."""
    db = tern.db()
    try:
        db.execute("BEGIN IMMEDIATE")
        (acct,) = db.execute("SELECT id FROM accounts WHERE address = ?",
                             (address,)).fetchone()
        mb, uidnext, hms = db.execute(
            "SELECT id, uidnext, highestmodseq FROM mailboxes "
            "WHERE account_id = ? AND name = 'INBOX'", (acct,)).fetchone()
        cur = db.execute("INSERT INTO messages(size, refcount, created, data) "
                         "VALUES(?, 1, strftime('%s','now'), ?)", (len(data), data))
        mid = cur.lastrowid
        db.execute("INSERT INTO mailbox_entries(mailbox_id, uid, message_id, flags, modseq, "
                   "internal_date, size) VALUES(?, ?, ?, ?, ?, strftime('%s','now'), ?)",
                   (mb, uidnext, mid, flags, hms + 1, len(data)))
        db.execute("UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?",
                   (uidnext + 1, hms + 1, mb))
        db.commit()
        return uidnext
    finally:
        db.close()


def make_message(i, body_lines=3, extra=b""):
    body = b"".join(b"line %d of message %d\r\n" % (n, i) for n in range(body_lines))
    return (b"From: bob@example.org\r\nTo: alice@example.test\r\n"
            b"Subject: message %d\r\nMessage-ID: <m%d@example.org>\r\n\r\n" % (i, i)
            + body + extra)


def inbox(tern, address=USER):
    """[(uid, flags, data)] of address's INBOX, in UID order."""
    db = tern.db()
    try:
        return db.execute(
            "SELECT e.uid, e.flags, m.data FROM mailbox_entries e "
            "JOIN messages m ON m.id = e.message_id "
            "JOIN mailboxes b ON b.id = e.mailbox_id "
            "JOIN accounts a ON a.id = b.account_id "
            "WHERE a.address = ? AND b.name = 'INBOX' ORDER BY e.uid",
            (address,)).fetchall()
    finally:
        db.close()


def uidvalidity(tern, address=USER):
    db = tern.db()
    try:
        return db.execute("SELECT b.uidvalidity FROM mailboxes b JOIN accounts a "
                          "ON a.id = b.account_id WHERE a.address = ? AND b.name = 'INBOX'",
                          (address,)).fetchone()[0]
    finally:
        db.close()


def wait_for(pred, timeout=10.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def pop3s(tern):
    return poplib.POP3_SSL(HOST, tern.port("pop3s"), context=ssl_ctx(), timeout=10)


def login(tern, user=USER, password=PASSWORD):
    p = pop3s(tern)
    p.user(user)
    p.pass_(password)
    return p


class Raw:
    """A raw POP3 client: send bytes, read replies exactly as sent."""

    def __init__(self, tern, tls=True):
        s = socket.create_connection((HOST, tern.port("pop3s" if tls else "pop3")), timeout=10)
        if tls:
            s = ssl_ctx().wrap_socket(s, server_hostname="localhost")
        self.sock = s
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; buffered %r" % self.buf[:200])
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multiline(self):
        """Body of a multi-line response, exactly as sent (stuffed), without
        the final '.' CRLF."""
        while True:
            if self.buf.startswith(b".\r\n"):
                self.buf = self.buf[3:]
                return b""
            i = self.buf.find(b"\r\n.\r\n")
            if i >= 0:
                body, self.buf = self.buf[:i + 2], self.buf[i + 5:]
                return body
            self._fill()

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.line()

    def closed(self, timeout=5):
        """True if the server closes the connection (after any pending data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()

    def login(self, user=USER, password=PASSWORD):
        assert self.cmd("USER " + user).startswith(b"+OK")
        r = self.cmd("PASS " + password)
        assert r.startswith(b"+OK"), r
        return r


def unstuff(body):
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)


@pytest.fixture
def box(tern):
    tern.add_user(USER, PASSWORD)
    return tern


# ---- greeting, CAPA, TLS policy --------------------------------------------

def test_plaintext_capa_and_login_refused(box):
    r = Raw(box, tls=False)
    assert r.greeting == b"+OK tern POP3 ready"
    assert r.cmd("CAPA") == b"+OK Capability list follows"
    caps = r.multiline().split(b"\r\n")[:-1]
    for c in (b"TOP", b"UIDL", b"RESP-CODES", b"AUTH-RESP-CODE", b"PIPELINING", b"STLS",
              b"IMPLEMENTATION tern"):
        assert c in caps
    assert b"USER" not in caps and not any(c.startswith(b"SASL") for c in caps)
    assert not any(c.startswith(b"APOP") for c in caps)
    reply = r.cmd("USER " + USER)
    assert reply.startswith(b"-ERR [AUTH]") and b"STLS" in reply
    assert r.cmd("PASS x").startswith(b"-ERR")
    assert r.cmd("AUTH PLAIN AGFsaWNlAHg=").startswith(b"-ERR [AUTH]")
    assert r.cmd("QUIT").startswith(b"+OK")
    assert r.closed()


def test_plaintext_hint_names_the_configured_tls_port(box, tern_factory):
    """Issue 14 item 17: the refusal names this server's implicit-TLS port,
    not a hard-coded 995; without such a listener it names none."""
    r = Raw(box, tls=False)
    reply = r.cmd("USER " + USER)
    assert reply == (b"-ERR [AUTH] Plaintext authentication is not allowed without TLS: "
                     b"use STLS first, or the POP3S port (%d)" % box.port("pop3s"))
    r.close()
    t = tern_factory(listeners=[("pop3", "pop3", "starttls")])
    r = Raw(t, tls=False)
    assert r.cmd("USER " + USER) == (b"-ERR [AUTH] Plaintext authentication is not allowed "
                                     b"without TLS: use STLS first")


def test_stls_then_everything(box):
    put_message(box, USER, make_message(1))
    p = poplib.POP3(HOST, box.port("pop3"), timeout=10)
    assert "STLS" in p.capa()
    p.stls(ssl_ctx())
    caps = p.capa()
    assert "STLS" not in caps
    assert "USER" in caps and caps["SASL"] == ["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256",
                                            "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN", "LOGIN"]
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    assert p.stat()[0] == 1
    assert p.retr(1)[1][2] == b"Subject: message 1"
    assert p.quit().startswith(b"+OK")


def test_stls_forgets_user(box):
    # RFC 2595: nothing from before the handshake survives it. USER is
    # refused before TLS anyway, but the session must also be in a clean
    # AUTHORIZATION state after it: PASS without USER fails.
    p = poplib.POP3(HOST, box.port("pop3"), timeout=10)
    p.stls(ssl_ctx())
    with pytest.raises(poplib.error_proto, match="USER first"):
        p.pass_(PASSWORD)
    with pytest.raises(poplib.error_proto, match="already|not permitted"):
        p._shortcmd("STLS")
    p.quit()


def test_stls_plaintext_injection_discarded(box):
    # Commands pipelined after STLS in plaintext must be dropped.
    s = socket.create_connection((HOST, box.port("pop3")), timeout=10)
    s.recv(1024)
    s.sendall(b"STLS\r\nCAPA\r\n")
    buf = b""
    while b"\r\n" not in buf:
        buf += s.recv(1024)
    assert buf.startswith(b"+OK") and buf.count(b"\r\n") == 1
    t = ssl_ctx().wrap_socket(s, server_hostname="localhost")
    t.sendall(b"NOOP\r\n")
    # NOOP is wrong-state in AUTHORIZATION: one -ERR, and nothing for CAPA.
    reply = t.recv(1024)
    assert reply.startswith(b"-ERR") and reply.count(b"\r\n") == 1
    t.close()


def test_pop3s_capa(box):
    p = pop3s(box)
    assert p.getwelcome() == b"+OK tern POP3 ready"
    caps = p.capa()
    assert "STLS" not in caps and "USER" in caps and "APOP" not in caps
    assert caps["IMPLEMENTATION"] == ["tern"]
    p.quit()


def test_plaintext_loopback_allowed(tern_factory):
    t = tern_factory(extra_config="plaintext_loopback = true\n")  # lands in [auth]
    t.add_user(USER, PASSWORD)
    p = poplib.POP3(HOST, t.port("pop3"), timeout=10)
    caps = p.capa()
    assert "USER" in caps and "STLS" in caps
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()


def test_apop_refused(box):
    p = pop3s(box)
    # poplib.apop() needs a timestamp banner; tern sends none, since it does
    # not offer APOP at all.
    with pytest.raises(poplib.error_proto):
        p.apop(USER, PASSWORD)
    with pytest.raises(poplib.error_proto, match="APOP"):
        p._shortcmd("APOP %s 0123456789abcdef0123456789abcdef" % USER)
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()


# ---- authentication --------------------------------------------------------

def test_wrong_password_and_unknown_user(box):
    p = pop3s(box)
    p.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_("wrong password")
    p.user("nobody@example.test")
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        p.pass_(PASSWORD)
    p.user(USER)
    assert p.pass_(PASSWORD).startswith(b"+OK")
    p.quit()


def test_sasl_plain_and_login(box):
    import base64
    b64 = lambda s: base64.b64encode(s.encode()).decode()
    # PLAIN with an initial response
    r = Raw(box)
    assert r.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (USER, PASSWORD))).startswith(b"+OK")
    assert r.cmd("STAT").startswith(b"+OK")
    r.cmd("QUIT")
    # PLAIN without: empty challenge first
    r = Raw(box)
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd(b64("\0%s\0%s" % (USER, PASSWORD))).startswith(b"+OK")
    r.cmd("QUIT")
    # LOGIN: username and password prompts
    r = Raw(box)
    assert r.cmd("AUTH LOGIN") == b"+ VXNlcm5hbWU6"
    assert r.cmd(b64(USER)) == b"+ UGFzc3dvcmQ6"
    assert r.cmd(b64(PASSWORD)).startswith(b"+OK")
    r.cmd("QUIT")
    # LOGIN with the user name as initial response
    r = Raw(box)
    assert r.cmd("AUTH LOGIN " + b64(USER)) == b"+ UGFzc3dvcmQ6"
    assert r.cmd(b64("bad")).startswith(b"-ERR [AUTH]")
    # cancel, malformed, unknown mechanism; the session survives all
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd("*").startswith(b"-ERR")
    assert r.cmd("AUTH PLAIN") == b"+ "
    assert r.cmd("!!!notbase64").startswith(b"-ERR")
    assert r.cmd("AUTH CRAM-MD5").startswith(b"-ERR")
    assert r.cmd("AUTH") == b"+OK"
    assert r.multiline() == (b"SCRAM-SHA-256-PLUS\r\nSCRAM-SHA-256\r\nSCRAM-SHA-1-PLUS\r\n"
                             b"SCRAM-SHA-1\r\nPLAIN\r\nLOGIN\r\n")
    r.login()
    r.cmd("QUIT")


def test_poplib_sasl_helper_free_pass_with_spaces(box):
    # PASS takes the rest of the line, spaces included.
    p = login(box)
    assert p.noop().startswith(b"+OK")
    p.quit()


# ---- every TRANSACTION command through poplib --------------------------------

def test_poplib_every_command(box):
    msgs = [make_message(i) for i in range(1, 4)]
    uids = [put_message(box, USER, m) for m in msgs]
    uv = uidvalidity(box)
    p = login(box)
    assert p.stat() == (3, sum(map(len, msgs)))
    resp, listing, _ = p.list()
    assert resp.startswith(b"+OK")
    assert listing == [b"%d %d" % (i + 1, len(m)) for i, m in enumerate(msgs)]
    assert p.list(2) == b"+OK 2 %d" % len(msgs[1])
    resp, uidls, _ = p.uidl()
    assert uidls == [b"%d %d.%d" % (i + 1, uv, u) for i, u in enumerate(uids)]
    assert p.uidl(3) == b"+OK 3 %d.%d" % (uv, uids[2])
    resp, lines, octets = p.retr(1)
    assert resp == b"+OK %d octets" % len(msgs[0])
    assert b"\r\n".join(lines) + b"\r\n" == msgs[0]
    resp, lines, _ = p.top(2, 1)
    assert lines[-2:] == [b"", b"line 0 of message 2"]
    assert p.noop() == b"+OK"
    assert p.dele(2).startswith(b"+OK")
    assert p.stat() == (2, len(msgs[0]) + len(msgs[2]))
    assert [l.split()[0] for l in p.list()[1]] == [b"1", b"3"]
    assert p.rset().startswith(b"+OK")
    assert p.stat()[0] == 3
    assert p.dele(3).startswith(b"+OK")
    assert p.quit().startswith(b"+OK")
    assert [u for u, _, _ in inbox(box)] == uids[:2]


# ---- raw transcripts ---------------------------------------------------------

def test_pipelined_commands(box):
    for i in range(1, 6):
        put_message(box, USER, make_message(i))
    r = Raw(box)
    # Everything in one write: login (an asynchronous password check),
    # listings, retrievals and QUIT. Replies must come back in order.
    r.send("USER %s\r\nPASS %s\r\nSTAT\r\nLIST\r\nRETR 1\r\nTOP 2 0\r\nDELE 5\r\n"
           "RETR 5\r\nUIDL 4\r\nNOOP\r\nQUIT\r\n" % (USER, PASSWORD))
    assert r.line().startswith(b"+OK")
    assert r.line().startswith(b"+OK Logged in")
    assert r.line().startswith(b"+OK 5 ")
    assert r.line().startswith(b"+OK 5 messages")
    assert r.multiline().count(b"\r\n") == 5
    assert r.line().startswith(b"+OK") and unstuff(r.multiline()) == make_message(1)
    assert r.line().startswith(b"+OK") and r.multiline().endswith(b"\r\n\r\n")
    assert r.line() == b"+OK Message 5 deleted"
    assert r.line().startswith(b"-ERR Message 5 is deleted")
    assert r.line().startswith(b"+OK 4 ")
    assert r.line() == b"+OK"
    assert r.line() == b"+OK tern POP3 server signing off (1 messages deleted)"
    assert r.closed()
    wait_for(lambda: len(inbox(box)) == 4, what="deletion of message 5")


def test_byte_stuffing_and_octets(box):
    data = (b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nnot a dot\r\n"
            b"end .\r\n.")
    put_message(box, USER, data)
    r = Raw(box)
    r.login()
    assert r.cmd("LIST 1") == b"+OK 1 %d" % len(data)
    reply = r.cmd("RETR 1")
    assert reply == b"+OK %d octets" % len(data)
    body = r.multiline()
    assert body == (b"Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nnot a dot\r\n"
                    b"end .\r\n..\r\n")
    # Un-stuffed, the bytes are the message (the final CRLF was added to
    # terminate the unterminated last line).
    assert unstuff(body) == data + b"\r\n"
    r.cmd("QUIT")


def test_octet_counts_equal_bytes_received(box):
    sizes = [0, 1, 100, 65535, 65536, 65537, 300000]
    msgs = []
    for i, n in enumerate(sizes):
        filler = b"".join(b"%s%06d %s\r\n" % (b"." if k % 7 == 0 else b"", k, b"x" * 60)
                          for k in range(n // 70 + 1))[:n]
        m = make_message(i, 0) + filler
        if not m.endswith(b"\r\n"):
            m = m.rstrip(b"\r") + b"\r\n"
        msgs.append(m)
        put_message(box, USER, m)
    r = Raw(box)
    r.login()
    total = int(r.cmd("STAT").split()[2])
    assert total == sum(map(len, msgs))
    for i, m in enumerate(msgs, 1):
        reply = r.cmd("RETR %d" % i)
        octets = int(reply.split()[1])
        got = unstuff(r.multiline())
        assert octets == len(got) == len(m)
        assert got == m
    r.cmd("QUIT")


def test_large_message_streams(box):
    # 8 MB with dotted lines: streamed in pieces, byte-exact.
    line = b".%s\r\n" % (b"y" * 1000)
    m = make_message(0, 0) + line * 8000
    put_message(box, USER, m)
    p = login(box)
    resp, lines, _ = p.retr(1)
    assert resp == b"+OK %d octets" % len(m)
    assert b"\r\n".join(lines) + b"\r\n" == m  # poplib un-stuffs
    p.quit()


def test_top(box):
    data = b"A: 1\r\nB: 2\r\n\r\nb1\r\n.b2\r\nb3\r\n"
    put_message(box, USER, data)
    r = Raw(box)
    r.login()
    assert r.cmd("TOP 1 0") == b"+OK Top of message follows"
    assert r.multiline() == b"A: 1\r\nB: 2\r\n\r\n"
    r.cmd("TOP 1 2")
    assert r.multiline() == b"A: 1\r\nB: 2\r\n\r\nb1\r\n..b2\r\n"
    r.cmd("TOP 1 100")
    assert r.multiline() == b"A: 1\r\nB: 2\r\n\r\nb1\r\n..b2\r\nb3\r\n"
    r.cmd("TOP 1 99999999999999999999999")
    assert unstuff(r.multiline()) == data
    assert r.cmd("TOP 1").startswith(b"-ERR")
    assert r.cmd("TOP 1 -1").startswith(b"-ERR")
    assert r.cmd("TOP 2 0").startswith(b"-ERR")
    r.cmd("QUIT")
    # TOP does not set \Seen.
    time.sleep(0.3)
    assert inbox(box)[0][1] & 1 == 0


def test_invalid_numbers_and_deleted(box):
    put_message(box, USER, make_message(1))
    put_message(box, USER, make_message(2))
    r = Raw(box)
    r.login()
    for c in ("RETR 0", "RETR 3", "RETR 99999999999999999999", "RETR abc", "RETR -1",
              "LIST 0", "UIDL 3", "DELE 4", "TOP 0 1", "RETR"):
        assert r.cmd(c).startswith(b"-ERR"), c
    assert r.cmd("DELE 1").startswith(b"+OK")
    for c in ("DELE 1", "RETR 1", "LIST 1", "UIDL 1", "TOP 1 0"):
        assert r.cmd(c) == b"-ERR Message 1 is deleted", c
    assert r.cmd("LIST") .startswith(b"+OK 1 messages")
    assert r.multiline() == b"2 %d\r\n" % len(make_message(2))
    assert r.cmd("UIDL").startswith(b"+OK")
    assert r.multiline().startswith(b"2 ")
    assert r.cmd("RSET").startswith(b"+OK")
    assert r.cmd("LIST 1").startswith(b"+OK 1 ")
    r.cmd("QUIT")
    assert len(inbox(box)) == 2


def test_wrong_state_commands(box):
    put_message(box, USER, make_message(1))
    r = Raw(box)
    for c in ("STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL"):
        assert r.cmd(c).startswith(b"-ERR"), c
    assert r.cmd("PASS " + PASSWORD) == b"-ERR USER first"
    assert r.cmd("FOO").startswith(b"-ERR unknown")
    r.close()
    r = Raw(box)
    r.login()
    for c in ("USER x", "PASS y", "AUTH PLAIN", "STLS", "APOP a b"):
        assert r.cmd(c).startswith(b"-ERR"), c
    assert r.cmd("STAT").startswith(b"+OK 1 ")
    r.cmd("QUIT")


def test_over_long_line(box):
    r = Raw(box)
    assert r.cmd("NOOP " + "x" * 5000) == b"-ERR line too long"
    # The session goes on with the next line.
    assert r.cmd("CAPA").startswith(b"+OK")
    r.multiline()
    r.login()
    assert r.cmd("LIST " + "1" * 1000) == b"-ERR line too long"
    assert r.cmd("STAT").startswith(b"+OK")
    r.cmd("QUIT")


def test_too_many_errors(tern_factory):
    t = tern_factory(extra_config="[pop3]\nmax_errors = 3\n")
    r = Raw(t)
    assert r.cmd("BOGU").startswith(b"-ERR")
    assert r.cmd("BOGU").startswith(b"-ERR")
    assert r.cmd("BOGU") == b"-ERR unknown command"
    assert r.line() == b"-ERR too many errors"
    assert r.closed()


def test_idle_timeout_closes_silently(tern_factory):
    t = tern_factory(extra_config="[pop3]\ntimeout = 1\n")
    t.add_user(USER, PASSWORD)
    put_message(t, USER, make_message(1))
    r = Raw(t)
    r.login()
    assert r.cmd("DELE 1").startswith(b"+OK")
    # RFC 1939 autologout: close without a response and without UPDATE.
    time.sleep(1.5)
    assert r.closed(timeout=5)
    assert r.buf == b""
    assert len(inbox(t)) == 1


# ---- locking, UPDATE, snapshots ----------------------------------------------

def test_in_use_lock(box):
    put_message(box, USER, make_message(1))
    first = login(box)
    second = pop3s(box)
    second.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[IN-USE\]"):
        second.pass_(PASSWORD)
    first.quit()
    # released at QUIT
    second.user(USER)
    assert second.pass_(PASSWORD).startswith(b"+OK")
    # released when the connection drops
    second.sock.close()
    second.file.close()
    wait_for(lambda: _can_login(box), what="lock release after drop")


def _can_login(t):
    try:
        p = login(t)
    except poplib.error_proto:
        return False
    p.quit()
    return True


def test_wrong_password_does_not_reveal_lock(box):
    first = login(box)
    second = pop3s(box)
    second.user(USER)
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        second.pass_("not the password")
    first.quit()
    second.quit()


def test_dropped_connection_deletes_nothing(box):
    for i in range(3):
        put_message(box, USER, make_message(i))
    r = Raw(box)
    r.login()
    for n in (1, 2, 3):
        assert r.cmd("DELE %d" % n).startswith(b"+OK")
    r.close()
    wait_for(lambda: _can_login(box), what="lock release")
    assert len(inbox(box)) == 3
    p = login(box)
    assert p.stat()[0] == 3
    p.quit()


def test_quit_applies_deletions_in_store(box):
    uids = [put_message(box, USER, make_message(i)) for i in range(4)]
    p = login(box)
    p.dele(1)
    p.dele(3)
    assert b"2 messages deleted" in p.quit()
    # The +OK came after COMMIT: the store already shows it.
    assert [u for u, _, _ in inbox(box)] == [uids[1], uids[3]]
    db = box.db()
    expunged = [u for (u,) in db.execute("SELECT uid FROM expunged ORDER BY uid")]
    db.close()
    assert expunged == [uids[0], uids[2]]
    p = login(box)
    assert p.stat()[0] == 2
    p.quit()


def test_quit_commit_failure(tern_factory, monkeypatch):
    monkeypatch.setenv("TERN_TEST_FAIL_COMMIT", "1")
    t = tern_factory()
    t.add_user(USER, PASSWORD)
    put_message(t, USER, make_message(1))
    p = login(t)
    p.dele(1)
    with pytest.raises(poplib.error_proto, match=r"\[SYS/TEMP\]"):
        p.quit()
    assert len(inbox(t)) == 1


def test_snapshot_and_uidl_stable_across_restart(box):
    put_message(box, USER, make_message(1))
    put_message(box, USER, make_message(2))
    p = login(box)
    first = p.uidl()[1]
    # Delivered during the session: not in this snapshot.
    put_message(box, USER, make_message(3))
    assert p.stat()[0] == 2
    with pytest.raises(poplib.error_proto):
        p.retr(3)
    p.quit()
    p = login(box)
    again = p.uidl()[1]
    assert again[:2] == first and len(again) == 3
    p.quit()
    box.restart()
    p = login(box)
    assert p.uidl()[1] == again
    p.dele(1)
    p.quit()
    p = login(box)
    # Numbers shift after a deletion; UIDL strings do not.
    assert [l.split()[1] for l in p.uidl()[1]] == [l.split()[1] for l in again[1:]]
    p.quit()


def test_retr_sets_seen(box):
    put_message(box, USER, make_message(1))
    put_message(box, USER, make_message(2))
    p = login(box)
    p.retr(2)
    p.top(1, 5)
    p.quit()
    wait_for(lambda: [f & 1 for _, f, _ in inbox(box)] == [0, 1], what="\\Seen on 2")
    # Even without QUIT, a retrieved message is seen.
    r = Raw(box)
    r.login()
    r.cmd("RETR 1")
    r.multiline()
    r.close()
    wait_for(lambda: [f & 1 for _, f, _ in inbox(box)] == [1, 1], what="\\Seen on 1")


def test_message_expunged_elsewhere(box):
    put_message(box, USER, make_message(1))
    p = login(box)
    # Another writer (standing in for IMAP) removes the message after the
    # snapshot: RETR answers -ERR cleanly and the session goes on.
    db = box.db()
    db.execute("DELETE FROM mailbox_entries")
    db.execute("DELETE FROM messages")
    db.commit()
    db.close()
    with pytest.raises(poplib.error_proto, match="no longer exists"):
        p.retr(1)
    assert p.noop() == b"+OK"
    p.quit()


def test_read_ahead_serves_the_snapshot_exactly(box):
    """RETR 1 reads the small messages after it ahead (proto/pop3/ahead.c). What
    those RETRs then return is byte for byte what is stored, DELE'd
    messages are skipped, TOP still cuts, and a message removed elsewhere
    after the snapshot is still served from it."""
    msgs = [make_message(i, body_lines=3 + i, extra=b".dot line\r\n") for i in range(1, 6)]
    for m in msgs:
        put_message(box, USER, m)
    p = login(box)
    assert p.dele(2).startswith(b"+OK")
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == msgs[0]
    db = box.db()
    db.execute("DELETE FROM mailbox_entries")
    db.execute("DELETE FROM messages")
    db.commit()
    db.close()
    for n in (3, 4, 5):
        assert b"\r\n".join(p.retr(n)[1]) + b"\r\n" == msgs[n - 1]
    top = p.top(4, 1)[1]
    assert top[-2:] == [b"", b"line 0 of message 4"]
    with pytest.raises(poplib.error_proto):
        p.retr(2)  # deleted in this session
    p.quit()
    assert login(box).stat()[0] == 0


def test_read_ahead_then_rset_undeletes(box):
    msgs = [make_message(i) for i in range(1, 4)]
    for m in msgs:
        put_message(box, USER, m)
    p = login(box)
    assert p.dele(2).startswith(b"+OK")
    assert b"\r\n".join(p.retr(1)[1]) + b"\r\n" == msgs[0]  # reads 2 and 3 ahead
    assert p.rset().startswith(b"+OK")
    for n in (2, 3):
        assert b"\r\n".join(p.retr(n)[1]) + b"\r\n" == msgs[n - 1]
    p.quit()


# ---- through SMTP ------------------------------------------------------------

def smtp_deliver(tern, rcpt, msg):
    try:
        with smtplib.SMTP(HOST, tern.port("smtp"), timeout=10) as s:
            s.sendmail("bob@example.org", [rcpt], msg)
    except (smtplib.SMTPException, OSError) as e:
        pytest.skip("SMTP delivery not available: %r" % (e,))


def test_smtp_delivery_then_pop3(box):
    msg = b"From: bob@example.org\r\nSubject: via smtp\r\n\r\n.dot line\r\nbye\r\n"
    smtp_deliver(box, USER, msg)
    wait_for(lambda: len(inbox(box)) == 1, what="delivery")
    stored = inbox(box)[0][2]
    assert b"\n" not in stored.replace(b"\r\n", b"")  # stored with CRLF only
    r = Raw(box)
    r.login()
    octets = int(r.cmd("RETR 1").split()[1])
    got = unstuff(r.multiline())
    assert got == stored and octets == len(stored)
    assert got.endswith(msg.split(b"\r\n\r\n", 1)[1])
    r.cmd("QUIT")


def test_shutdown_during_retr_ends_without_a_reply_inside_the_body(box):
    # A RETR still streaming when the shutdown grace ends is cut off: the
    # client sees no final "." and knows the message is incomplete. An
    # "-ERR" there would stand inside the message, as a line of its body.
    line = b"z" * 998 + b"\r\n"
    m = make_message(0, 0) + line * 8000
    put_message(box, USER, m)
    r = Raw(box)
    r.login()
    r.send("RETR 1\r\n")
    assert r.line() == b"+OK %d octets" % len(m)
    box.proc.send_signal(signal.SIGTERM)  # the client reads nothing until the grace is over
    time.sleep(3)
    assert r.closed(timeout=15)
    assert b"-ERR" not in r.buf
    assert not r.buf.endswith(b"\r\n.\r\n")
