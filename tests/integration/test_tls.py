"""TLS: implicit TLS, SNI certificate selection, the generated self-signed
certificate (made once, reused), SIGHUP reload, with Python ssl and
openssl s_client as the clients."""
import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess
import smtplib
import time

from conftest import ssl_ctx

IMPLICIT = [("submissions", "submission", "implicit"), ("pop3s", "pop3", "implicit"),
            ("imaps", "imap", "implicit")]


def tls_connect(host, port, sni=None):
    raw = socket.create_connection((host, port), timeout=10)
    s = ssl_ctx().wrap_socket(raw, server_hostname=sni)
    return s


def peer_cert_der(host, port, sni=None):
    with tls_connect(host, port, sni) as s:
        return s.getpeercert(binary_form=True), s.version()


def fingerprint(der):
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def make_cert(d, name):
    key, crt = os.path.join(d, name + ".key"), os.path.join(d, name + ".crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", crt,
                    "-days", "2", "-subj", "/CN=%s" % name, "-addext",
                    "subjectAltName=DNS:%s,DNS:*.%s" % (name, name)],
                   check=True, capture_output=True)
    return crt, key


def test_implicit_tls_every_protocol(tern_factory):
    t = tern_factory(listeners=IMPLICIT)
    for name in ("submissions", "pop3s", "imaps"):
        with tls_connect(t.host, t.port(name)) as s:
            assert s.version() in ("TLSv1.2", "TLSv1.3")
            greeting = s.recv(512)
            assert greeting, name


def test_selfsigned_generated_once_and_reused(tern_factory):
    t = tern_factory(listeners=IMPLICIT)
    assert os.path.exists(t.cert_path)
    key = t.cert_path[:-4] + ".key"
    assert os.stat(key).st_mode & 0o077 == 0, "private key must not be group/world readable"
    der1, _ = peer_cert_der(t.host, t.port("pop3s"))
    fp = fingerprint(der1)
    # The fingerprint is logged at start.
    assert re.search(r"event=tls_cert .*sha256=" + re.escape(fp), t.logs()), t.logs()[-2000:]
    # The certificate names the host name and localhost.
    out = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", t.cert_path],
                         capture_output=True, text=True).stdout
    assert "DNS:mail.example.test" in out and "DNS:localhost" in out
    t.restart()
    der2, _ = peer_cert_der(t.host, t.port("pop3s"))
    assert der1 == der2, "the self-signed certificate is reused on the second start"


def test_sni_selects_certificate(tern_factory, tmp_path):
    a_crt, a_key = make_cert(str(tmp_path), "alpha.test")
    b_crt, b_key = make_cert(str(tmp_path), "beta.test")
    extra = ('[tls]\n[[tls.cert]]\ncert = "%s"\nkey = "%s"\n[[tls.cert]]\ncert = "%s"\nkey = "%s"\n'
             % (a_crt, a_key, b_crt, b_key))
    t = tern_factory(extra_config=extra, listeners=IMPLICIT)

    def cn(der):
        pem = ssl.DER_cert_to_PEM_cert(der)
        out = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem,
                             capture_output=True, text=True).stdout
        return out.strip()

    assert "alpha.test" in cn(peer_cert_der(t.host, t.port("imaps"), "alpha.test")[0])
    assert "beta.test" in cn(peer_cert_der(t.host, t.port("imaps"), "beta.test")[0])
    assert "beta.test" in cn(peer_cert_der(t.host, t.port("imaps"), "mx.beta.test")[0])
    # Unknown name and no SNI at all: the first certificate is the default.
    assert "alpha.test" in cn(peer_cert_der(t.host, t.port("imaps"), "other.test")[0])
    assert "alpha.test" in cn(peer_cert_der(t.host, t.port("imaps"), None)[0])

    # openssl s_client with -servername sees the same choice.
    r = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (t.host, t.port("pop3s")),
                        "-servername", "beta.test", "-brief"], input="", capture_output=True,
                       text=True, timeout=20)
    assert "beta.test" in (r.stdout + r.stderr), r.stderr


def test_openssl_s_client_implicit(tern_factory):
    t = tern_factory(listeners=IMPLICIT)
    r = subprocess.run(["openssl", "s_client", "-connect", "%s:%d" % (t.host, t.port("pop3s")),
                        "-quiet"], input="QUIT\r\n", capture_output=True, text=True, timeout=20)
    assert "+OK" in r.stdout or "* " in r.stdout or r.stdout, r.stderr


def test_sighup_reloads_certificate_without_dropping(tern_factory, tmp_path):
    crt, key = make_cert(str(tmp_path), "first.test")
    extra = '[tls]\n[[tls.cert]]\ncert = "%s"\nkey = "%s"\n' % (crt, key)
    t = tern_factory(extra_config=extra, listeners=IMPLICIT)
    before, _ = peer_cert_der(t.host, t.port("pop3s"))
    held = tls_connect(t.host, t.port("pop3s"))
    held.recv(512)
    # Replace the files, then SIGHUP.
    new_crt, new_key = make_cert(str(tmp_path), "second.test")
    os.replace(new_crt, crt)
    os.replace(new_key, key)
    t.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline and "event=tls_reloaded" not in t.logs():
        time.sleep(0.05)
    after, _ = peer_cert_der(t.host, t.port("pop3s"))
    assert after != before
    # The connection made before the reload still works.
    held.sendall(b"NOOP\r\n")
    assert held.recv(512)
    held.close()


def test_handshake_garbage_is_closed(tern_factory):
    t = tern_factory(listeners=IMPLICIT)
    with socket.create_connection((t.host, t.port("pop3s")), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n" * 10)
        data = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (ConnectionResetError, socket.timeout):
            pass
    assert b"+OK" not in data
    # The server is still up.
    assert peer_cert_der(t.host, t.port("pop3s"))[0]


# Every TLS 1.2 suite OpenSSL knows for an ECDSA certificate (tern's
# self-signed one), offered one at a time.
def ecdsa_tls12_suites():
    out = subprocess.run(["openssl", "ciphers", "-s", "-v", "ALL:@SECLEVEL=0"],
                         capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines()
            if "ECDSA" in line.split()[0] and line.split()[1] == "TLSv1.2"]


def accepted_suites(handshake):
    """The suites a server accepts, each offered alone by a TLS 1.2 client."""
    ok = set()
    for suite in ecdsa_tls12_suites():
        ctx = ssl_ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(suite + ":@SECLEVEL=0")
        try:
            handshake(ctx)
            ok.add(suite)
        except (ssl.SSLError, ConnectionError, smtplib.SMTPException):
            pass
    return ok


STRICT = {"ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305",
          "ECDHE-ECDSA-AES128-GCM-SHA256"}


def test_client_listeners_offer_only_ecdhe_with_aead(tern_factory):
    """Submission, IMAP and POP3 (people's clients): ECDHE with AES-GCM or
    ChaCha20-Poly1305, nothing else (issue 14, item 9: they offered CBC
    with SHA-1/SHA-2, CCM_8 and Camellia)."""
    t = tern_factory(listeners=IMPLICIT)
    for name in ("submissions", "imaps", "pop3s"):
        def handshake(ctx):
            with socket.create_connection((t.host, t.port(name)), timeout=10) as raw:
                with ctx.wrap_socket(raw) as s:
                    s.recv(64)
        assert accepted_suites(handshake) == STRICT, name


def test_mx_listener_is_wider_but_never_sha1_ccm8_or_camellia(tern_factory):
    """On the mx listener TLS is opportunistic (a refused handshake means
    plaintext), so CBC with SHA-2 MACs stays; SHA-1 MACs, CCM_8, Camellia
    and ARIA do not."""
    t = tern_factory(listeners=[("smtp", "smtp", "starttls")])

    def handshake(ctx):
        with smtplib.SMTP(t.host, t.port("smtp"), timeout=10) as s:
            s.starttls(context=ctx)
            s.ehlo("client.test")
    assert accepted_suites(handshake) == STRICT | {"ECDHE-ECDSA-AES256-SHA384",
                                                   "ECDHE-ECDSA-AES128-SHA256"}
