"""ManageSieve (RFC 5804, proto/sieve/) against the real binary.

Raw transcripts check the exact replies: the greeting's capabilities before
and after STARTTLS (SASL empty until TLS, no STARTTLS after it), and on an
implicit-TLS listener; AUTHENTICATE refused without TLS; PLAIN with an
initial response and with a continuation, a cancelled exchange, a wrong
password, SCRAM-SHA-256 computed here; every script command's OK and NO
paths (NONEXISTENT, ACTIVE, ALREADYEXISTS, QUOTA/MAXSIZE, QUOTA/MAXSCRIPTS,
compile errors as "line:col: message"); literals in both forms; pipelined
commands behind the writer jobs; bad syntax; a literal over the limit
refused with BYE before its octets are sent (before login the bound is a
line); too many errors, the idle timeout and SIGTERM -> BYE.
Then Debian's sieve-connect uploads, lists, activates, downloads and
deletes a script over STARTTLS, and a delivery after activation shows the
script ran (fileinto, read back over IMAP)."""
import base64
import imaplib
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import HOST, Tern, free_port, ssl_ctx, wait_port

USER = "sieveuser@example.test"
PASSWORD = "sieve pw 1"
OTHER = "quota@example.test"
SIEVE_CONNECT = shutil.which("sieve-connect")

LISTENERS = [("sieve", "sieve", "starttls"), ("sieves", "sieve", "implicit"),
             ("smtp", "smtp", "none"), ("imap", "imap", "starttls")]


@pytest.fixture(scope="module")
def server():
    d = tempfile.mkdtemp(prefix="tern-msieve-")
    idle_port = free_port()

    def extra(t):
        # one more listener whose idle timeout is a second
        return ("[managesieve]\nmax_errors = 6\nmax_scripts = 3\nmax_literal = 100000\n\n"
                "[[listen]]\nprotocol = \"sieve\"\naddress = \"%s:%d\"\ntls = \"starttls\"\n"
                "idle_timeout = 1\n" % (HOST, idle_port))
    t = Tern(d, extra_config=extra, listeners=LISTENERS,
             auth={"check_spf": "false", "check_dkim": "false", "check_dmarc": "false"})
    t.start()
    t.idle_port = idle_port
    wait_port(HOST, idle_port)
    t.add_user(USER, PASSWORD)
    t.add_user(OTHER, PASSWORD)
    yield t
    t.stop()
    shutil.rmtree(d, ignore_errors=True)


class MS:
    """A raw ManageSieve client: lines and literals as they come."""

    def __init__(self, t, name="sieve", tls=False):
        self.sock = socket.create_connection((HOST, t.port(name)), timeout=10)
        if tls:
            self.sock = ssl_ctx().wrap_socket(self.sock)
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed")
        self.buf += data

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def item(self):
        """One response line, with any literal it ends with read inline."""
        line = self.line()
        while line.endswith(b"}") and b"{" in line:
            n = int(line[line.rindex(b"{") + 1:-1])
            line += b"\r\n" + self.read(n) + self.line()
        return line

    def response(self):
        """(lines before the final one, the final OK/NO/BYE line)."""
        lines = []
        while True:
            line = self.item()
            if line.split(b" ", 1)[0] in (b"OK", b"NO", b"BYE"):
                return lines, line.decode()
            lines.append(line.decode())

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.response()

    def starttls(self):
        _, ok = self.cmd("STARTTLS")
        assert ok.startswith("OK"), ok
        self.sock = ssl_ctx().wrap_socket(self.sock)
        self.buf = b""
        return self.response()

    def login(self, user=USER, password=PASSWORD):
        ir = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return self.cmd('AUTHENTICATE "PLAIN" "%s"' % ir)

    def close(self):
        self.sock.close()

    def closed(self):
        """True when the server has closed the connection."""
        try:
            self.sock.settimeout(5)
            while True:
                data = self.sock.recv(4096)
                if not data:
                    return True
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False


def logged_in(t, user=USER):
    c = MS(t)
    c.response()
    c.starttls()
    _, ok = c.login(user)
    assert ok == 'OK "Logged in"', ok
    return c


def caps(lines):
    out = {}
    for line in lines:
        parts = line.split(" ", 1)
        out[parts[0].strip('"')] = parts[1].strip('"') if len(parts) > 1 else None
    return out


# ---- greeting, STARTTLS, AUTHENTICATE ----------------------------------------

def test_greeting_before_and_after_starttls(server):
    c = MS(server)
    lines, ok = c.response()
    assert ok == 'OK "tern ManageSieve ready"'
    assert lines[0] == '"IMPLEMENTATION" "tern"'
    before = caps(lines)
    assert before["SASL"] == ""  # nothing to log in with before TLS
    assert "STARTTLS" in before and before["VERSION"] == "1.0"
    assert before["MAXREDIRECTS"] == "4"
    assert "fileinto" in before["SIEVE"].split()
    lines, ok = c.starttls()
    assert ok == 'OK "TLS negotiation successful"'
    after = caps(lines)
    assert "STARTTLS" not in after
    assert set(after["SASL"].split()) >= {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-1"}
    lines, ok = c.cmd("CAPABILITY")
    assert ok == 'OK "Capability completed"' and caps(lines) == after
    _, ok = c.cmd("STARTTLS")
    assert ok == 'NO "TLS is already active"'
    c.close()


def test_implicit_tls_listener_offers_sasl(server):
    c = MS(server, "sieves", tls=True)
    lines, ok = c.response()
    assert ok.startswith("OK")
    got = caps(lines)
    assert "PLAIN" in got["SASL"].split() and "STARTTLS" not in got
    _, ok = c.login()
    assert ok == 'OK "Logged in"'
    lines, ok = c.cmd("CAPABILITY")
    assert caps(lines)["OWNER"] == USER and caps(lines)["SASL"] == ""
    c.close()


def test_authenticate_refused_without_tls(server):
    c = MS(server)
    c.response()
    _, no = c.login()
    assert no == ('NO (ENCRYPT-NEEDED) "Authentication is not allowed without TLS: '
                  'use STARTTLS"')
    _, no = c.cmd("LISTSCRIPTS")
    assert no == 'NO "Authenticate first"'
    _, ok = c.cmd("LOGOUT")
    assert ok == 'OK "Logout completed"'
    assert c.closed()


def test_authenticate_continuation_cancel_and_failure(server):
    c = MS(server)
    c.response()
    c.starttls()
    # PLAIN without an initial response: an empty challenge, then a literal
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c.line() == b'""'
    resp = base64.b64encode(b"\0" + USER.encode() + b"\0wrong")
    c.send(b"{%d+}\r\n%s\r\n" % (len(resp), resp))
    assert c.response()[1] == 'NO "Authentication failed"'
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c.line() == b'""'
    c.send('"*"\r\n')
    assert c.response()[1] == 'NO "Authentication cancelled"'
    _, no = c.cmd('AUTHENTICATE "X-NOPE"')
    assert no == 'NO "Unsupported SASL mechanism"'
    c.send('AUTHENTICATE "PLAIN"\r\n')
    assert c.line() == b'""'
    resp = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode()).decode()
    _, ok = c.cmd('"%s"' % resp)
    assert ok == 'OK "Logged in"'
    _, no = c.cmd('AUTHENTICATE "PLAIN" ""')
    assert no == 'NO "Already authenticated"'
    _, ok = c.cmd("UNAUTHENTICATE")
    assert ok == 'OK "Unauthenticate completed"'
    _, no = c.cmd("LISTSCRIPTS")
    assert no == 'NO "Authenticate first"'
    c.close()


def test_scram_sha256(server):
    c = MS(server)
    c.response()
    c.starttls()
    import hashlib
    import hmac
    nonce = base64.b64encode(os.urandom(18)).decode()
    first_bare = "n=%s,r=%s" % (USER, nonce)
    c.send('AUTHENTICATE "SCRAM-SHA-256" "%s"\r\n'
           % base64.b64encode(("n,," + first_bare).encode()).decode())
    server_first = base64.b64decode(c.line().strip(b'"')).decode()
    fields = dict(kv.split("=", 1) for kv in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", PASSWORD.encode(), base64.b64decode(fields["s"]),
                                 int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored = hashlib.sha256(client_key).digest()
    final_wo = "c=biws,r=%s" % fields["r"]
    auth_msg = ",".join([first_bare, server_first, final_wo]).encode()
    sig = hmac.new(stored, auth_msg, hashlib.sha256).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(client_key, sig))).decode()
    c.send('"%s"\r\n' % base64.b64encode(("%s,p=%s" % (final_wo, proof)).encode()).decode())
    server_final = base64.b64decode(c.line().strip(b'"')).decode()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    want = base64.b64encode(hmac.new(server_key, auth_msg, hashlib.sha256).digest()).decode()
    assert server_final == "v=" + want
    _, ok = c.cmd('""')
    assert ok == 'OK "Logged in"'
    c.close()


# ---- the script commands -----------------------------------------------------

GOOD = 'require "fileinto";\r\nif header :contains "subject" "x" { fileinto "X"; }\r\n'


def put(c, name, script, sync=False):
    data = script.encode()
    return c.cmd('PUTSCRIPT "%s" {%d%s}\r\n%s' % (name, len(data), "" if sync else "+",
                                                  script))


def test_script_commands(server):
    c = logged_in(server)
    assert c.cmd("LISTSCRIPTS") == ([], 'OK "Listscripts completed"')
    assert put(c, "one", GOOD)[1] == 'OK "Script stored"'
    assert put(c, "two", "keep;\r\n", sync=True)[1] == 'OK "Script stored"'
    # a quoted script, and a literal name
    assert c.cmd('PUTSCRIPT {5+}\r\nthree "discard;"')[1] == 'OK "Script stored"'
    assert c.cmd("LISTSCRIPTS") == (['"one"', '"three"', '"two"'], 'OK "Listscripts completed"')
    assert c.cmd('SETACTIVE "one"')[1] == 'OK "Script activated"'
    assert c.cmd("LISTSCRIPTS")[0] == ['"one" ACTIVE', '"three"', '"two"']
    assert c.cmd('SETACTIVE "nope"')[1] == 'NO (NONEXISTENT) "There is no script by that name"'
    lines, ok = c.cmd('GETSCRIPT "one"')
    assert ok == 'OK "Getscript completed"'
    assert lines == ["{%d}\r\n%s" % (len(GOOD), GOOD)]
    assert c.cmd('GETSCRIPT "nope"')[1] == 'NO (NONEXISTENT) "There is no script by that name"'
    assert c.cmd('DELETESCRIPT "one"')[1] == 'NO (ACTIVE) "The active script cannot be deleted"'
    assert c.cmd('DELETESCRIPT "nope"')[1] == ('NO (NONEXISTENT) "There is no script by that '
                                              'name"')
    assert c.cmd('RENAMESCRIPT "one" "two"')[1] == ('NO (ALREADYEXISTS) "A script by that name '
                                                   'exists already"')
    assert c.cmd('RENAMESCRIPT "nope" "four"')[1].startswith("NO (NONEXISTENT)")
    assert c.cmd('RENAMESCRIPT "one" "uno"')[1] == 'OK "Script renamed"'
    assert c.cmd("LISTSCRIPTS")[0] == ['"three"', '"two"', '"uno" ACTIVE']  # still active
    # max_scripts = 3: a fourth is refused, replacing one is not
    assert c.cmd('HAVESPACE "four" 100')[1] == ('NO (QUOTA/MAXSCRIPTS) "At most 3 scripts per '
                                               'account"')
    assert put(c, "four", "keep;")[1].startswith("NO (QUOTA/MAXSCRIPTS)")
    assert c.cmd('HAVESPACE "two" 100')[1] == 'OK "Putscript would succeed"'
    assert c.cmd('HAVESPACE "two" 70000')[1] == ('NO (QUOTA/MAXSIZE) "A script has at most '
                                                '65536 octets"')
    assert put(c, "two", "stop;")[1] == 'OK "Script stored"'
    assert c.cmd('SETACTIVE ""')[1] == 'OK "No script is active"'
    assert c.cmd("LISTSCRIPTS")[0] == ['"three"', '"two"', '"uno"']
    assert c.cmd('DELETESCRIPT "uno"')[1] == 'OK "Script deleted"'
    assert c.cmd('DELETESCRIPT "uno"')[1].startswith("NO (NONEXISTENT)")
    assert c.cmd('GETSCRIPT "bad/name"')[1] == 'NO "Invalid script name"'
    for name in ("two", "three"):
        assert c.cmd('DELETESCRIPT "%s"' % name)[1] == 'OK "Script deleted"'
    # the store holds what the protocol said
    db = server.db()
    try:
        assert db.execute("SELECT count(*) FROM sieve_scripts s JOIN accounts a ON "
                          "a.id = s.account_id WHERE a.address = ?", (USER,)).fetchone() == (0,)
    finally:
        db.close()
    c.cmd("LOGOUT")


def test_pipelined_commands_wait_for_the_store(server):
    # PUTSCRIPT and SETACTIVE are writer jobs: what follows them in the same
    # packet is answered after them, in order, and sees what they wrote
    c = logged_in(server, OTHER)
    c.send('PUTSCRIPT "p" {5+}\r\nkeep;\r\nSETACTIVE "p"\r\nLISTSCRIPTS\r\n'
           'GETSCRIPT "p"\r\nSETACTIVE ""\r\nDELETESCRIPT "p"\r\nLISTSCRIPTS\r\n')
    assert c.response() == ([], 'OK "Script stored"')
    assert c.response() == ([], 'OK "Script activated"')
    assert c.response() == (['"p" ACTIVE'], 'OK "Listscripts completed"')
    assert c.response() == (["{5}\r\nkeep;"], 'OK "Getscript completed"')
    assert c.response() == ([], 'OK "No script is active"')
    assert c.response() == ([], 'OK "Script deleted"')
    assert c.response() == ([], 'OK "Listscripts completed"')
    c.close()


def test_health_then_shutdown_says_bye_trylater(tern_factory):
    t = tern_factory(listeners=[("sieve", "sieve", "starttls")])
    # `tern health` reads the greeting's first line when nothing else listens
    r = t.cli("health")
    assert r.returncode == 0 and r.stdout.startswith("healthy: sieve "), r.stdout + r.stderr
    assert r.stdout.rstrip().endswith(': "IMPLEMENTATION" "tern"'), r.stdout
    c = MS(t)
    assert c.response()[1] == 'OK "tern ManageSieve ready"'
    t.proc.send_signal(signal.SIGTERM)
    assert c.line() == b'BYE (TRYLATER) "Server shutting down"'
    assert c.closed()
    assert t.proc.wait(timeout=20) == 0


def test_compile_errors_and_checkscript(server):
    c = logged_in(server, OTHER)
    bad = 'require "fileinto";\r\nfileinto "X"\r\nkeep;\r\n'
    lines, no = put(c, "bad", bad)
    assert no == 'NO "3:1: fileinto takes no test"', no
    assert c.cmd("LISTSCRIPTS")[0] == []  # nothing stored
    assert c.cmd('CHECKSCRIPT "keep;"')[1] == 'OK "Script is valid"'
    assert c.cmd('CHECKSCRIPT "frobnicate;"')[1] == 'NO "1:1: unknown command frobnicate"'
    # a message with a quote in it comes as a literal
    script = 'require "nosuchext";\r\n'
    _, no = c.cmd("CHECKSCRIPT {%d+}\r\n%s" % (len(script), script))
    assert no == 'NO {38}\r\n1:9: unsupported extension "nosuchext"'
    assert c.cmd('CHECKSCRIPT ""')[1] == 'NO "The script is empty"'
    big = "#" * 70000 + "\r\nkeep;\r\n"
    assert put(c, "big", big)[1] == 'NO (QUOTA/MAXSIZE) "A script has at most 65536 octets"'
    _, ok = c.cmd('NOOP "tag1"')
    assert ok == 'OK (TAG "tag1") "Done"'
    c.cmd("LOGOUT")


def test_bad_syntax_and_too_many_errors(server):
    c = MS(server)
    c.response()
    assert c.cmd("FROB")[1] == 'NO "Unknown command"'
    assert c.cmd('NOOP "unterminated')[1] == 'NO "CR, LF or NUL in quoted string"'
    assert c.cmd("NOOP  \"x\"")[1] == 'NO "expected a string or a number"'
    assert c.cmd("CAPABILITY extra")[1] == 'NO "expected a string or a number"'
    assert c.cmd("NOOP\t")[1] == 'NO "expected a space"'
    # the sixth error is answered, then BYE and the connection closes
    c.send("LOGOUT x\r\n")
    assert c.line() == b'NO "expected a string or a number"'
    assert c.line() == b'BYE "Too many errors"'
    assert c.closed()


def test_wrong_arguments(server):
    c = logged_in(server, OTHER)
    assert c.cmd('GETSCRIPT')[1] == 'NO "Wrong number of arguments"'
    assert c.cmd('GETSCRIPT 5')[1] == 'NO "Expected a string"'
    assert c.cmd('HAVESPACE "a" "b"')[1] == 'NO "Expected a number"'
    assert c.cmd('HAVESPACE "a" 99999999999')[1] == 'NO "bad number"'
    c.close()


def test_literal_over_the_limit_is_refused_unread(server):
    c = logged_in(server, OTHER)
    # only the header goes out: the BYE comes without the octets
    c.send('PUTSCRIPT "huge" {200000+}\r\n')
    assert c.line() == b'BYE (QUOTA/MAXSIZE) "Literal of 200000 octets is over the limit of 100000"'
    assert c.closed()


def test_literal_before_login_is_bounded_by_the_line(server):
    # before login a literal can only be a SASL response: max_line bounds it
    c = MS(server)
    c.response()
    c.send('NOOP {9000+}\r\n')
    assert c.line() == b'BYE (QUOTA/MAXSIZE) "Literal of 9000 octets is over the limit of 8192"'
    assert c.closed()
    c = MS(server)
    c.response()
    c.send('NOOP {8000+}\r\n' + "x" * 8000 + "\r\n")
    assert c.response()[1] == 'OK (TAG {8000}\r\n%s) "Done"' % ("x" * 8000)
    c.close()


def test_long_line_is_refused(server):
    c = MS(server)
    c.response()
    assert c.cmd("NOOP \"" + "a" * 9000 + "\"")[1] == 'NO "Line too long"'
    assert c.cmd("NOOP")[1] == 'OK "Done"'
    c.close()


def test_idle_timeout_says_bye(server):
    c = MS(server)
    c.sock.close()
    c.sock = socket.create_connection((HOST, server.idle_port), timeout=10)
    assert c.response()[1] == 'OK "tern ManageSieve ready"'
    start = time.time()
    assert c.line() == b'BYE "Idle timeout, closing"'
    assert 0.5 < time.time() - start < 5
    assert c.closed()


# ---- a real client, and a delivery -------------------------------------------

def sieve_connect(t, *args, stdin=None):
    cmd = [SIEVE_CONNECT, "--server", HOST, "--port", str(t.port("sieve")), "--user", USER,
           "--passwordfd", "0", "--notlsverify", "--nosslverify", "--authmech", "PLAIN",
           *args]
    return subprocess.run(cmd, input=PASSWORD + "\n", capture_output=True, text=True,
                          timeout=60, cwd=t.dir)


@pytest.mark.skipif(SIEVE_CONNECT is None, reason="sieve-connect is not installed "
                    "(apt-get install sieve-connect)")
def test_sieve_connect_then_delivery(server):
    path = os.path.join(server.dir, "filter.sieve")
    with open(path, "w") as f:
        f.write('require ["fileinto", "mailbox"];\r\n'
                'if header :contains "subject" "sorted" { fileinto :create "Sorted"; }\r\n')
    r = sieve_connect(server, "--upload", "--localsieve", path, "--remotesieve", "filter")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--list")
    assert r.returncode == 0 and "filter" in r.stdout, r.stdout + r.stderr
    r = sieve_connect(server, "--activate", "--remotesieve", "filter")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--list")
    assert r.stdout == '"filter" ACTIVE\n', r.stdout
    back = os.path.join(server.dir, "back.sieve")
    r = sieve_connect(server, "--download", "--remotesieve", "filter", "--localsieve", back)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(back, "rb") as f, open(path, "rb") as g:
        assert f.read() == g.read()

    msg = ("From: <far@example.org>\r\nTo: <%s>\r\nSubject: to be sorted\r\n"
           "Message-ID: <sorted@example.org>\r\n\r\nHello.\r\n" % USER)
    with smtplib.SMTP(HOST, server.port("smtp"), timeout=30) as s:
        s.sendmail("far@example.org", [USER], msg)
    imap = imaplib.IMAP4(HOST, server.port("imap"))
    imap.starttls(ssl_context=ssl_ctx())
    imap.login(USER, PASSWORD)
    deadline = time.time() + 15
    count = b"0"
    while time.time() < deadline:
        typ, data = imap.select('"Sorted"')
        if typ == "OK" and data[0] != b"0":
            count = data[0]
            break
        time.sleep(0.2)
    assert count == b"1"
    typ, data = imap.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    assert b"to be sorted" in data[0][1]
    imap.logout()

    r = sieve_connect(server, "--deactivate")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--delete", "--remotesieve", "filter")
    assert r.returncode == 0, r.stdout + r.stderr
    r = sieve_connect(server, "--list")
    assert "filter" not in r.stdout
