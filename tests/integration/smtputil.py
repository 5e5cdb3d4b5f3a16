"""Helpers for the SMTP integration tests: a raw line-level client and
store queries. Raw transcripts matter because smtplib hides exactly what
these tests look at (reply codes of pipelined batches, bytes on the wire)."""
import re
import socket
import ssl
import time

from conftest import ssl_ctx


class Raw:
    """A raw SMTP client: send bytes, read replies."""

    def __init__(self, host, port, tls=False, greet=True, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.sock = ssl_ctx().wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.greeting = self.reply() if greet else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed; buffered %r" % self.buf)
            self.buf += chunk
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode("utf-8", "replace")

    def reply(self):
        """(code, [text lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            ln = self.line()
            assert re.match(r"^\d{3}[ -]", ln) or re.match(r"^\d{3}$", ln), ln
            lines.append(ln[4:])
            if len(ln) < 4 or ln[3] == " ":
                return int(ln[:3]), lines

    def code(self):
        c, lines = self.reply()
        return c

    def full(self):
        """The last line as '<code> <text>'."""
        c, lines = self.reply()
        return "%d %s" % (c, lines[-1])

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self, name="client.example"):
        return self.cmd("EHLO " + name)

    def starttls(self):
        c, _ = self.cmd("STARTTLS")
        assert c == 220
        self.sock = ssl_ctx().wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""

    def closed(self, timeout=5):
        """True if the server closes the connection (after any pending data)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                d = self.sock.recv(65536)
                if not d:
                    return True
                self.buf += d
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def smtp_raw(tern, name="smtp", **kw):
    return Raw(tern.host, tern.port(name), **kw)


def wait_quiet(seconds=0.3):
    time.sleep(seconds)


def inbox_messages(tern, address, mailbox="INBOX"):
    """Message bytes in a mailbox of an account, in UID order."""
    db = tern.db()
    try:
        rows = db.execute(
            "SELECT m.data FROM mailbox_entries e JOIN mailboxes b ON b.id = e.mailbox_id "
            "JOIN accounts a ON a.id = b.account_id JOIN messages m ON m.id = e.message_id "
            "WHERE a.address = ? AND b.name = ? COLLATE NOCASE ORDER BY e.uid",
            (address, mailbox)).fetchall()
        return [bytes(r[0]) for r in rows]
    finally:
        db.close()


def count(tern, sql, *args):
    db = tern.db()
    try:
        return db.execute(sql, args).fetchone()[0]
    finally:
        db.close()


def strip_trace(data):
    """The message without the headers tern prepends (Return-Path,
    Received, and on submission Message-ID/Date if they were missing)."""
    assert data.startswith(b"Return-Path: <") or data.startswith(b"Received: ")
    lines = data.split(b"\r\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        if ln.startswith(b"Return-Path:") or ln.startswith(b"Received:"):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
            continue
        break
    return b"\r\n".join(lines[i:])


def simple_message(frm="sender@remote.example", to="alice@example.test", subject="test",
                   body="Hello.\r\n"):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@test>\r\n"
            "Date: Mon, 23 Nov 2026 09:00:00 +0000\r\n\r\n%s"
            % (frm, to, subject, str(time.time()).replace(".", ""), body))
