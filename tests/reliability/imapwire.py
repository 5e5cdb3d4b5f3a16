"""A minimal IMAP client for the crash cycles.

Why not imaplib: the runner must know exactly which command got which
tagged answer (and its response code: APPENDUID, COPYUID, MODSEQ), keep the
bytes of every literal, and tell "no answer" (the server died) from "NO".
This client sends one command, reads every line up to its tagged answer,
and returns them; a dead connection raises ConnectionError.
"""
import re
import socket
import ssl
import time

LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r\n$")


class NoAnswer(ConnectionError):
    """The command was sent (or may have been) and no tagged answer came."""


class Imap:
    def __init__(self, host, port, timeout=15):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection((host, port), timeout=timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname="localhost")
        self.f = self.sock.makefile("rb")
        self.n = 0
        greeting = self.f.readline()
        if not greeting.startswith(b"* OK"):
            raise ConnectionError("no IMAP greeting: %r" % greeting)

    def read_response(self):
        """One response: (line with literals replaced by {n}, [literals])."""
        parts, literals = [], []
        while True:
            line = self.f.readline()
            if not line:
                raise NoAnswer("connection closed")
            m = LITERAL_AT_END.search(line)
            if not m:
                parts.append(line.rstrip(b"\r\n"))
                return b"".join(parts), literals
            parts.append(line[:m.start()] + b"{%d}" % len(literals))
            data = self.f.read(int(m.group(1)))
            if len(data) != int(m.group(1)):
                raise NoAnswer("connection closed inside a literal")
            literals.append(data)

    def command(self, text, literal=None):
        """Send `tag text` (with an optional synchronizing literal appended),
        return (status, tagged line, [untagged responses])."""
        self.n += 1
        tag = b"r%d" % self.n
        untagged = []
        try:
            if literal is None:
                self.sock.sendall(tag + b" " + text.encode() + b"\r\n")
            else:
                self.sock.sendall(tag + b" " + text.encode() + b" {%d}\r\n" % len(literal))
                line, _ = self.read_response()
                if not line.startswith(b"+"):
                    status = line.split(b" ", 2)[1].decode() if line.startswith(tag) else "BAD"
                    return status, line, untagged
                self.sock.sendall(literal + b"\r\n")
            while True:
                line, lits = self.read_response()
                if line.startswith(tag + b" "):
                    return line.split(b" ", 2)[1].decode(), line, untagged
                untagged.append((line, lits))
        except (OSError, ssl.SSLError) as e:
            raise NoAnswer(str(e)) from e

    def ok(self, text, literal=None):
        status, line, untagged = self.command(text, literal)
        if status != "OK":
            raise RuntimeError("%s -> %r" % (text, line))
        return line, untagged

    def idle(self, seconds):
        """IDLE for a while, then DONE; returns the tagged status."""
        self.n += 1
        tag = b"r%d" % self.n
        try:
            self.sock.sendall(tag + b" IDLE\r\n")
            line, _ = self.read_response()
            if not line.startswith(b"+"):
                return "NO"
            # Not reading meanwhile: a timed-out socket file cannot be
            # read again; what arrives waits in the socket until DONE.
            time.sleep(seconds)
            self.sock.sendall(b"DONE\r\n")
            while True:
                line, _ = self.read_response()
                if line.startswith(tag + b" "):
                    return line.split(b" ", 2)[1].decode()
        except (OSError, ssl.SSLError) as e:
            raise NoAnswer(str(e)) from e

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def code(line, name):
    """The numbers of response code [NAME a b c] in a line, or None."""
    m = re.search(rb"\[" + name.encode() + rb" ([^\]]*)\]", line)
    return m.group(1).decode().split() if m else None


def uid_set(s):
    """The UIDs of an IMAP sequence set like 4,7:9 (no *)."""
    out = []
    for part in s.split(","):
        if ":" in part:
            a, b = (int(x) for x in part.split(":"))
            out.extend(range(min(a, b), max(a, b) + 1))
        else:
            out.append(int(part))
    return out


FETCH_UID = re.compile(rb"\bUID (\d+)")
FETCH_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")
FETCH_MODSEQ = re.compile(rb"\bMODSEQ \((\d+)\)")


def parse_fetch(line, lits):
    """(uid, flags set, modseq, first literal) of an untagged FETCH."""
    m = FETCH_UID.search(line)
    f = FETCH_FLAGS.search(line)
    ms = FETCH_MODSEQ.search(line)
    flags = None
    if f:
        flags = frozenset(x for x in f.group(1).decode().split() if x != "\\Recent")
    return (int(m.group(1)) if m else None, flags, int(ms.group(1)) if ms else None,
            lits[0] if lits else None)
