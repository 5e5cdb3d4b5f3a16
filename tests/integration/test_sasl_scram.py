"""SCRAM-SHA-1 (RFC 5802) and SCRAM-SHA-256 (RFC 7677), and their -PLUS
variants, in IMAP AUTHENTICATE, SMTP AUTH and POP3 AUTH, driven by a SCRAM
client written here (hashlib.pbkdf2_hmac, hmac) over real sockets: with
and without an initial response, cancel, wrong passwords (and the same
throttle as PLAIN), unknown users (the exchange looks the same up to the
proof), accounts without keys (they gain them at their next PLAIN login),
channel binding (tls-unique on TLS 1.2 with the extended master secret,
tls-exporter on TLS 1.3, both computed with pyOpenSSL) and the downgrade
a client that says "y" would let through."""
import base64
import hashlib
import hmac
import imaplib
import os
import shutil
import socket
import stringprep
import subprocess
import time
import unicodedata

import pytest

from conftest import ssl_ctx
from smtputil import Raw as SmtpRaw

PW = "correct horse battery"
USER = "alice@example.test"
IMAP_LISTENERS = [("imaps", "imap", "implicit"), ("imap", "imap", "starttls"),
                  ("submissions", "submission", "implicit"), ("pop3s", "pop3", "implicit")]


def b64(b):
    return base64.b64encode(b if isinstance(b, bytes) else b.encode()).decode()


def unb64(s):
    return base64.b64decode(s).decode()


class Scram:
    """The client side of one SCRAM exchange."""

    def __init__(self, user, password, mech="SCRAM-SHA-256", cb=None, gs2=None, cnonce=None):
        self.h = hashlib.sha1 if "SHA-1" in mech else hashlib.sha256
        self.hname = "sha1" if "SHA-1" in mech else "sha256"
        self.password = password
        self.cb = cb  # (type, data) for -PLUS
        if gs2 is None:
            gs2 = "p=%s,," % cb[0] if mech.endswith("-PLUS") else "n,,"
        self.gs2 = gs2
        self.cnonce = cnonce or b64(os.urandom(18))
        name = user.replace("=", "=3D").replace(",", "=2C")
        self.bare = "n=%s,r=%s" % (name, self.cnonce)
        self.server_sig = None

    def first(self):
        return self.gs2 + self.bare

    def final(self, server_first, cb_data=None):
        attrs = dict(a.split("=", 1) for a in server_first.split(","))
        assert attrs["r"].startswith(self.cnonce)
        salt, iters = base64.b64decode(attrs["s"]), int(attrs["i"])
        salted = hashlib.pbkdf2_hmac(self.hname, self.password.encode(), salt, iters)
        client_key = hmac.new(salted, b"Client Key", self.h).digest()
        stored = self.h(client_key).digest()
        data = cb_data if cb_data is not None else (self.cb[1] if self.gs2.startswith("p=") else b"")
        without = "c=%s,r=%s" % (b64(self.gs2.encode() + data), attrs["r"])
        auth = ",".join([self.bare, server_first, without]).encode()
        sig = hmac.new(stored, auth, self.h).digest()
        proof = bytes(a ^ b for a, b in zip(client_key, sig))
        server_key = hmac.new(salted, b"Server Key", self.h).digest()
        self.server_sig = b64(hmac.new(server_key, auth, self.h).digest())
        return without + ",p=" + b64(proof)

    def check(self, server_final):
        assert server_final == "v=" + self.server_sig


@pytest.fixture
def srv(tern_factory):
    t = tern_factory(listeners=IMAP_LISTENERS)
    t.add_user(USER, PW)
    return t


# ---- IMAP ----

def imaps(t):
    return imaplib.IMAP4_SSL(t.host, t.port("imaps"), ssl_context=ssl_ctx())


class ImapRaw:
    def __init__(self, t, name="imaps", tls=True, ctx=None):
        self.sock = socket.create_connection((t.host, t.port(name)), timeout=10)
        if tls:
            self.sock = (ctx or ssl_ctx()).wrap_socket(self.sock, server_hostname="localhost")
        self.buf = b""
        self.greeting = self.line()

    def send(self, s):
        self.sock.sendall(s.encode() + b"\r\n")

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed: %r" % self.buf)
            self.buf += d
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode()


def imap_exchange(r, sc, mech, ir=True, tag="a"):
    """AUTHENTICATE through the final answer; returns the tagged line."""
    if ir:
        r.send("%s AUTHENTICATE %s %s" % (tag, mech, b64(sc.first())))
    else:
        r.send("%s AUTHENTICATE %s" % (tag, mech))
        assert r.line() == "+ "
        r.send(b64(sc.first()))
    ln = r.line()
    assert ln.startswith("+ "), ln
    r.send(b64(sc.final(unb64(ln[2:]))))
    ln = r.line()
    if not ln.startswith("+ "):
        return ln
    sc.check(unb64(ln[2:]))
    r.send("")
    return r.line()


def test_imap_capability_lists_scram(srv):
    m = imaps(srv)
    caps = m.capabilities
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "LOGIN"):
        assert "AUTH=" + mech in caps
    m.logout()
    # Before TLS on a public-looking connection: nothing to log in with.
    r = ImapRaw(srv, "imap", tls=False)
    assert "LOGINDISABLED" in r.greeting and "SCRAM" not in r.greeting


@pytest.mark.parametrize("mech", ["SCRAM-SHA-256", "SCRAM-SHA-1"])
def test_imap_authenticate_imaplib(srv, mech):
    """imaplib (no SASL-IR) drives the exchange through its callable; the
    server-final message comes as one more challenge, answered empty."""
    m = imaps(srv)
    sc = Scram(USER, PW, mech)
    steps = []

    def answer(challenge):
        steps.append(challenge)
        if len(steps) == 1:
            assert challenge == b""
            return sc.first().encode()
        if len(steps) == 2:
            return sc.final(challenge.decode()).encode()
        sc.check(challenge.decode())
        return b""

    typ, data = m.authenticate(mech, answer)
    assert typ == "OK" and len(steps) == 3
    assert b"CAPABILITY" in data[0]
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_imap_sasl_ir_and_errors(srv):
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(USER, PW), "SCRAM-SHA-256").startswith("a OK [CAPABILITY")
    # cancel
    r = ImapRaw(srv)
    r.send("b AUTHENTICATE SCRAM-SHA-256 " + b64(Scram(USER, PW).first()))
    assert r.line().startswith("+ ")
    r.send("*")
    assert r.line().startswith("b BAD")
    # not base64, a bad gs2 header, an authzid of someone else
    r.send("c AUTHENTICATE SCRAM-SHA-256 !!!!")
    assert r.line().startswith("c BAD")
    r.send("d AUTHENTICATE SCRAM-SHA-256 " + b64("x,,n=alice,r=abc"))
    assert r.line() == "d NO [AUTHENTICATIONFAILED] Authentication failed"
    r.send("e AUTHENTICATE SCRAM-SHA-256 " + b64("n,a=bob@example.test,n=%s,r=abc" % USER))
    assert r.line() == "e NO [AUTHENTICATIONFAILED] Authentication failed"
    # -PLUS needs a binding; a plain mechanism must not claim one
    r.send("f AUTHENTICATE SCRAM-SHA-256 " + b64("p=tls-unique,,n=alice,r=abc"))
    assert r.line().startswith("f NO")
    # an oversized message
    r.send("g AUTHENTICATE SCRAM-SHA-256 " + b64("n,,n=alice,r=" + "a" * 3000))
    assert r.line().startswith("g NO")
    # a wrong nonce in client-final
    sc = Scram(USER, PW)
    r.send("h AUTHENTICATE SCRAM-SHA-256 " + b64(sc.first()))
    ln = r.line()
    final = sc.final(unb64(ln[2:])).replace(",r=" + sc.cnonce, ",r=X" + sc.cnonce)
    r.send(b64(final))
    assert r.line().startswith("h NO")
    # and after all that, a good one
    assert imap_exchange(r, Scram(USER, PW, "SCRAM-SHA-1"), "SCRAM-SHA-1", ir=False,
                         tag="i").startswith("i OK")


def test_imap_wrong_password_is_delayed_like_plain(tern_factory):
    t = tern_factory(listeners=IMAP_LISTENERS,
                     auth={"fail_delay_ms": 300, "fail_max_delay_ms": 300})
    t.add_user(USER, PW)
    r = ImapRaw(t)
    start = time.monotonic()
    ln = imap_exchange(r, Scram(USER, "wrong password"), "SCRAM-SHA-256")
    assert ln == "a NO [AUTHENTICATIONFAILED] Authentication failed"
    assert time.monotonic() - start >= 0.28


def test_unknown_user_looks_the_same_until_the_proof(srv):
    def server_first(user, mech="SCRAM-SHA-256"):
        r = ImapRaw(srv)
        sc = Scram(user, "whatever", mech)
        r.send("a AUTHENTICATE %s %s" % (mech, b64(sc.first())))
        ln = r.line()
        attrs = dict(a.split("=", 1) for a in unb64(ln[2:]).split(","))
        r.send(b64(sc.final(unb64(ln[2:]))))
        assert r.line() == "a NO [AUTHENTICATIONFAILED] Authentication failed"
        return attrs

    known, ghost, ghost2 = server_first(USER), server_first("ghost@example.test"), \
        server_first("ghost@example.test")
    assert known["i"] == ghost["i"] == "4096"
    assert len(base64.b64decode(known["s"])) == len(base64.b64decode(ghost["s"])) == 16
    assert len(known["r"]) == len(ghost["r"])
    assert ghost["s"] == ghost2["s"]  # stable: asking twice tells nothing
    # as for a real account, the case of the name does not matter
    assert server_first("GHOST@Example.test")["s"] == ghost["s"]
    assert server_first(USER.upper())["s"] == known["s"]
    assert server_first("other@example.test")["s"] != ghost["s"]


def test_disabled_account_fails(srv):
    db = srv.db()
    db.execute("UPDATE accounts SET disabled = 1 WHERE address = ?", (USER,))
    db.commit()
    db.close()
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(USER, PW), "SCRAM-SHA-256").startswith("a NO")


def test_scram_shares_the_plain_throttle(tern_factory):
    """SCRAM failures count against the same per-network budget as PLAIN:
    past it, even the right password (PLAIN or SCRAM) is refused."""
    t = tern_factory(listeners=IMAP_LISTENERS,
                     auth={"fail_delay_ms": 1, "fail_max_delay_ms": 1, "fail_limit": 2})
    t.add_user(USER, PW)
    for tag in ("a", "b"):
        r = ImapRaw(t)
        assert imap_exchange(r, Scram(USER, "nope"), "SCRAM-SHA-256",
                             tag=tag).startswith(tag + " NO [AUTHENTICATIONFAILED]")
    r = ImapRaw(t)
    r.send('c LOGIN %s "%s"' % (USER, PW))
    assert r.line().startswith("c NO [UNAVAILABLE]")
    assert imap_exchange(r, Scram(USER, PW), "SCRAM-SHA-256",
                         tag="d").startswith("d NO [UNAVAILABLE]")


# ---- keys: made with the password, or at the next PLAIN login ----

def keys(t, user=USER):
    db = t.db()
    row = db.execute("SELECT scram_sha1, scram_sha256 FROM accounts WHERE address = ?",
                     (user,)).fetchone()
    db.close()
    return row


def test_keys_are_made_with_the_password(srv):
    sha1, sha256 = keys(srv)
    assert sha1.startswith("4096,") and sha256.startswith("4096,")
    # the first start's postmaster too
    assert keys(srv, "postmaster@example.test")[1].startswith("4096,")
    assert PW not in sha1 + sha256
    r = srv.cli("user", "passwd", USER, "--password-stdin", input="another password 2\n")
    assert r.returncode == 0, r.stderr
    sha1b, sha256b = keys(srv)
    assert sha256b.startswith("4096,") and sha256b != sha256 and sha1b != sha1
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(USER, PW), "SCRAM-SHA-256").startswith("a NO")
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(USER, "another password 2"),
                         "SCRAM-SHA-256").startswith("a OK")


def test_account_without_keys_gains_them_at_plain_login(srv):
    db = srv.db()
    db.execute("UPDATE accounts SET scram_sha1 = '', scram_sha256 = ''")
    db.commit()
    db.close()
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(USER, PW), "SCRAM-SHA-256").startswith("a NO")
    m = imaps(srv)
    assert m.login(USER, PW)[0] == "OK"
    m.logout()
    deadline = time.time() + 5
    while time.time() < deadline and not keys(srv)[1]:
        time.sleep(0.05)
    assert keys(srv)[0].startswith("4096,") and keys(srv)[1].startswith("4096,")
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        r = ImapRaw(srv)
        assert imap_exchange(r, Scram(USER, PW, mech), mech).startswith("a OK")


# ---- SMTP ----

def smtp_exchange(r, sc, mech, ir=True):
    if ir:
        c, lines = r.cmd("AUTH %s %s" % (mech, b64(sc.first())))
    else:
        c, lines = r.cmd("AUTH " + mech)
        assert (c, lines) == (334, [""])
        c, lines = r.cmd(b64(sc.first()))
    assert c == 334, (c, lines)
    c, lines = r.cmd(b64(sc.final(unb64(lines[0]))))
    if c != 334:
        return c
    sc.check(unb64(lines[0]))
    return r.cmd("")[0]


@pytest.mark.parametrize("mech,ir", [("SCRAM-SHA-256", True), ("SCRAM-SHA-1", False)])
def test_smtp_auth_scram(srv, mech, ir):
    r = SmtpRaw(srv.host, srv.port("submissions"), tls=True)
    c, lines = r.ehlo()
    auth = [ln for ln in lines if ln.startswith("AUTH ")][0].split()
    assert "SCRAM-SHA-256" in auth and "SCRAM-SHA-1" in auth and "PLAIN" in auth
    assert smtp_exchange(r, Scram(USER, "bad", mech), mech, ir) == 535
    assert smtp_exchange(r, Scram(USER, PW, mech), mech, ir) == 235
    assert r.cmd("MAIL FROM:<%s>" % USER)[0] == 250


def test_smtp_auth_scram_cancel_and_malformed(srv):
    r = SmtpRaw(srv.host, srv.port("submissions"), tls=True)
    r.ehlo()
    c, _ = r.cmd("AUTH SCRAM-SHA-256 " + b64(Scram(USER, PW).first()))
    assert c == 334
    assert r.cmd("*")[0] == 501
    assert r.cmd("AUTH SCRAM-SHA-256 " + b64("bogus"))[0] == 501


# ---- POP3 ----

class PopRaw(SmtpRaw):
    def __init__(self, t):
        super().__init__(t.host, t.port("pop3s"), tls=True, greet=False)
        self.greeting = self.line()

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.line()


def pop_exchange(r, sc, mech, ir=True):
    if ir:
        ln = r.cmd("AUTH %s %s" % (mech, b64(sc.first())))
    else:
        assert r.cmd("AUTH " + mech) == "+ "
        ln = r.cmd(b64(sc.first()))
    assert ln.startswith("+ "), ln
    ln = r.cmd(b64(sc.final(unb64(ln[2:]))))
    if not ln.startswith("+ "):
        return ln
    sc.check(unb64(ln[2:]))
    return r.cmd("")


@pytest.mark.parametrize("mech,ir", [("SCRAM-SHA-256", False), ("SCRAM-SHA-1", True)])
def test_pop3_auth_scram(srv, mech, ir):
    r = PopRaw(srv)
    r.send("CAPA\r\n")
    caps = []
    while True:
        ln = r.line()
        if ln == ".":
            break
        caps.append(ln)
    sasl = [c for c in caps if c.startswith("SASL ")][0].split()
    assert "SCRAM-SHA-256" in sasl and "SCRAM-SHA-1" in sasl
    assert pop_exchange(r, Scram(USER, "bad", mech), mech, ir).startswith("-ERR [AUTH]")
    assert pop_exchange(r, Scram(USER, PW, mech), mech, ir).startswith("+OK")
    assert r.cmd("STAT").startswith("+OK")
    r2 = PopRaw(srv)
    assert r2.cmd("AUTH SCRAM-SHA-256 " + b64(Scram(USER, PW).first())).startswith("+ ")
    assert r2.cmd("*").startswith("-ERR")


# ---- channel binding ----

OpenSSL = pytest.importorskip("OpenSSL")


class BoundConn:
    """A TLS client (pyOpenSSL) that can say what the connection's channel
    binding is: tls-unique is the first Finished message (the client's, in
    a full handshake), tls-exporter the RFC 9266 exporter."""

    def __init__(self, t, name, max_version=None):
        from OpenSSL import SSL
        ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
        if max_version:
            ctx.set_max_proto_version(max_version)
        sock = socket.create_connection((t.host, t.port(name)), timeout=10)
        sock.settimeout(None)  # OpenSSL wants a blocking socket
        self.c = SSL.Connection(ctx, sock)
        self.c.set_connect_state()
        self.c.set_tlsext_host_name(b"localhost")
        self.c.do_handshake()
        self.buf = b""

    def binding(self):
        if self.c.get_protocol_version_name() == "TLSv1.3":
            return "tls-exporter", self.c.export_keying_material(b"EXPORTER-Channel-Binding", 32)
        return "tls-unique", self.c.get_finished()

    def send(self, s):
        self.c.sendall(s.encode() + b"\r\n")

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.c.recv(65536)
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln.decode()


def bound_imap(t, max_version=None):
    r = BoundConn(t, "imaps", max_version)
    r.line()  # greeting
    r.send("c CAPABILITY")
    caps = r.line()
    assert r.line().startswith("c OK")
    return r, caps


@pytest.mark.parametrize("tls", ["1.2", "default"])
def test_imap_scram_plus(srv, tls):
    from OpenSSL import SSL
    r, caps = bound_imap(srv, SSL.TLS1_2_VERSION if tls == "1.2" else None)
    cb = r.binding()
    if "AUTH=SCRAM-SHA-256-PLUS" not in caps:
        # mbedTLS 3.x cannot tell whether TLS 1.2 negotiated the extended
        # master secret: no tls-unique there (tls/tls.c).
        assert cb[0] == "tls-unique", caps
        pytest.skip("no channel binding on TLS 1.2 with this mbedTLS")
    assert "AUTH=SCRAM-SHA-1-PLUS" in caps
    for mech in ("SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS"):
        assert imap_exchange(r, Scram(USER, PW, mech, cb=cb), mech,
                             tag="p").startswith("p OK"), mech
        r, _ = bound_imap(srv, SSL.TLS1_2_VERSION if tls == "1.2" else None)
        cb = r.binding()
    # "y": the client could bind but thinks we cannot: a downgrade, refused
    sc = Scram(USER, PW, "SCRAM-SHA-256", gs2="y,,")
    r.send("y AUTHENTICATE SCRAM-SHA-256 " + b64(sc.first()))
    assert r.line().startswith("y NO")
    # the binding of another connection does not do
    other = BoundConn(srv, "imaps", SSL.TLS1_2_VERSION if tls == "1.2" else None)
    sc = Scram(USER, PW, "SCRAM-SHA-256-PLUS", cb=other.binding())
    r.send("z AUTHENTICATE SCRAM-SHA-256-PLUS " + b64(sc.first()))
    ln = r.line()
    r.send(b64(sc.final(unb64(ln[2:]))))
    assert r.line().startswith("z NO")
    # the type we do not offer here
    wrong = "tls-exporter" if cb[0] == "tls-unique" else "tls-unique"
    r.send("w AUTHENTICATE SCRAM-SHA-256-PLUS " + b64("p=%s,,n=%s,r=abc" % (wrong, USER)))
    assert r.line().startswith("w NO")
    # plain SCRAM with "n" still works on a connection that offers -PLUS
    assert imap_exchange(r, Scram(USER, PW), "SCRAM-SHA-256", tag="n").startswith("n OK")


def test_smtp_scram_plus(srv):
    r = BoundConn(srv, "submissions")
    assert r.line().startswith("220")
    r.send("EHLO c.example")
    lines = []
    while True:
        ln = r.line()
        lines.append(ln[4:])
        if ln[3] == " ":
            break
    auth = [ln for ln in lines if ln.startswith("AUTH ")][0].split()
    if "SCRAM-SHA-256-PLUS" not in auth:
        pytest.skip("no channel binding on this TLS version with this mbedTLS")
    sc = Scram(USER, PW, "SCRAM-SHA-256-PLUS", cb=r.binding())
    r.send("AUTH SCRAM-SHA-256-PLUS " + b64(sc.first()))
    ln = r.line()
    assert ln.startswith("334 ")
    r.send(b64(sc.final(unb64(ln[4:]))))
    ln = r.line()
    assert ln.startswith("334 ")
    sc.check(unb64(ln[4:]))
    r.send("")
    assert r.line().startswith("235")


# ---- SASLprep (RFC 4013): the keys are those of the prepared password ----

def saslprep(s):
    """The client side of SASLprep as a query (RFC 4013 §2), with the RFC 3454
    tables Python carries in its stringprep module."""
    s = "".join(" " if stringprep.in_table_c12(c) else c
                for c in s if not stringprep.in_table_b1(c))
    s = unicodedata.normalize("NFKC", s)
    prohibited = (stringprep.in_table_c12, stringprep.in_table_c21_c22, stringprep.in_table_c3,
                  stringprep.in_table_c4, stringprep.in_table_c5, stringprep.in_table_c6,
                  stringprep.in_table_c7, stringprep.in_table_c8, stringprep.in_table_c9)
    assert s and not any(f(c) for c in s for f in prohibited)
    if any(stringprep.in_table_d1(c) for c in s):
        assert not any(stringprep.in_table_d2(c) for c in s)
        assert stringprep.in_table_d1(s[0]) and stringprep.in_table_d1(s[-1])
    return s


# a soft hyphen (mapped to nothing), ROMAN NUMERAL NINE (NFKC: "IX"), an o with umlaut
PW_COMPAT = "pa\u00adss\u2168w\u00f6rd"
PW_NFD = unicodedata.normalize("NFD", "caf\u00e9 \u00a0cr\u00e8me")  # NFD, and a no-break space
BOB = "bob@example.test"


def imap_plain(t, user, password):
    r = ImapRaw(t)
    r.send("p AUTHENTICATE PLAIN " + b64("\0%s\0%s" % (user, password)))
    return r.line()


@pytest.mark.parametrize("password", [PW_COMPAT, PW_NFD], ids=["compat", "nfd"])
def test_saslprep_non_ascii_password(srv, password):
    prepared = saslprep(password)
    assert prepared != password  # the preparation changes it: a raw proof cannot match
    srv.add_user(BOB, password)
    sha1, sha256 = keys(srv, BOB)
    assert sha1.startswith("4096,") and sha256.startswith("4096,")
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        r = ImapRaw(srv)
        assert imap_exchange(r, Scram(BOB, prepared, mech), mech).startswith("a OK")
    # a client that does not prepare derives other keys: its proof fails
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(BOB, password), "SCRAM-SHA-256").startswith("a NO")
    # PLAIN takes the password as it was set, byte for byte
    assert imap_plain(srv, BOB, password).startswith("p OK")
    assert imap_plain(srv, BOB, prepared).startswith("p NO")


def test_saslprep_lazy_keys_are_of_the_prepared_password(srv):
    srv.add_user(BOB, PW_COMPAT)
    db = srv.db()
    db.execute("UPDATE accounts SET scram_sha1 = '', scram_sha256 = '' WHERE address = ?", (BOB,))
    db.commit()
    db.close()
    assert imap_plain(srv, BOB, PW_COMPAT).startswith("p OK")
    deadline = time.time() + 5
    while time.time() < deadline and not keys(srv, BOB)[1]:
        time.sleep(0.05)
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(BOB, saslprep(PW_COMPAT)), "SCRAM-SHA-256").startswith("a OK")


def test_saslprep_password_that_cannot_be_prepared_gets_no_keys(srv):
    """A control character is prohibited (RFC 4013 §2.3): no SCRAM keys, a
    line at info without the password, and PLAIN still works."""
    password = "tab\there"
    srv.add_user(BOB, password)
    assert keys(srv, BOB) == ("", "")
    assert imap_plain(srv, BOB, password).startswith("p OK")
    # no keys either after that PLAIN login: the lazy path prepares too, and says why
    deadline = time.time() + 5
    while time.time() < deadline and "event=scram_keys_skipped" not in srv.logs():
        time.sleep(0.05)
    assert "event=scram_keys_skipped reason=saslprep_prohibited" in srv.logs()
    assert password not in srv.logs()
    assert keys(srv, BOB) == ("", "")
    r = ImapRaw(srv)
    assert imap_exchange(r, Scram(BOB, password), "SCRAM-SHA-256").startswith("a NO")


def test_saslprep_user_name_is_prepared(srv):
    """RFC 5802 §5.1: the n= name is SASLprep'd (as a query) before the lookup."""
    r = ImapRaw(srv)
    name = "al\u00adice@example.test"  # a soft hyphen inside: mapped to nothing
    assert imap_exchange(r, Scram(name, PW), "SCRAM-SHA-256").startswith("a OK")
    # a name that cannot be prepared ends the exchange
    for bad in ("alice\u0007@example.test", "\u00ad", "\u0627" + "1"):
        r = ImapRaw(srv)
        r.send("b AUTHENTICATE SCRAM-SHA-256 " + b64("n,,n=%s,r=abc" % bad))
        ln = r.line()
        assert ln.startswith("b NO") or ln.startswith("b BAD"), ln


def test_saslprep_msmtp(srv, tmp_path):
    """A real client that SASLpreps: msmtp with GNU SASL (libidn's SASLprep)."""
    if not shutil.which("msmtp"):
        pytest.skip("no msmtp")
    srv.add_user(BOB, PW_COMPAT)
    conf = tmp_path / "msmtprc"
    conf.write_text("account default\nhost %s\nport %d\nauth scram-sha-256\nuser %s\n"
                    "password %s\ntls on\ntls_starttls off\ntls_certcheck off\n"
                    "from %s\n" % (srv.host, srv.port("submissions"), BOB, PW_COMPAT, BOB),
                    encoding="utf-8")
    conf.chmod(0o600)
    msg = b"From: %s\r\nTo: %s\r\nSubject: saslprep\r\n\r\nhello\r\n" % (BOB.encode(), BOB.encode())
    r = subprocess.run(["msmtp", "-d", "-C", str(conf), BOB], input=msg, capture_output=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert b"AUTH SCRAM-SHA-256" in r.stdout + r.stderr
    assert "event=auth result=ok mech=scram-sha-256 " in srv.logs()
