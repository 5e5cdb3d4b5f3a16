"""ACME (RFC 8555) against Debian's pebble: issuance over http-01, the
certificate served by every TLS listener without a restart, persistence,
renewal, a failed challenge retried, and an expired certificate replaced;
issuance over tls-alpn-01 (RFC 8737) where tern is built with mbedTLS 3.x,
and its refusal at config load where it is built with 2.28; `tern acme
revoke` (RFC 8555 §7.6) and the new order SIGHUP starts.

pebble runs on loopback with a certificate made here (Debian ships none),
its DNS pointed at pebble-challtestsrv, which answers 127.0.0.1 for every
name, its http-01 port set to tern's plain HTTP listener and its
tls-alpn-01 port (tlsPort) to tern's HTTPS listener. Nothing leaves
127.0.0.1.
"""
import datetime
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest

from conftest import HOST, free_ports, wait_port

PEBBLE = shutil.which("pebble") or "/usr/bin/pebble"
CHALLTESTSRV = shutil.which("pebble-challtestsrv") or "/usr/bin/pebble-challtestsrv"

pytestmark = pytest.mark.skipif(not (os.path.exists(PEBBLE) and os.path.exists(CHALLTESTSRV)),
                                reason="pebble is not installed")

DOMAIN = "mail.example.test"
LISTENERS = [("http", "http", "none"), ("https", "http", "implicit"),
             ("imaps", "imap", "implicit"), ("smtp", "smtp", "starttls")]


class Pebble:
    """pebble and its DNS on free loopback ports; stop() ends both."""

    def __init__(self, tmp, http_port, validity=None, nonce_reject=5, tls_port=None):
        self.dir = os.path.join(tmp, "pebble")
        os.makedirs(self.dir, exist_ok=True)
        self.port, self.mgmt, self.dns, self.dns_mgmt, self.tls_port = free_ports(5)
        if tls_port:
            self.tls_port = tls_port
        self.cert = os.path.join(self.dir, "cert.pem")
        key = os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", self.cert,
                        "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.key = key
        self.validity = validity
        self.config = os.path.join(self.dir, "pebble.json")
        self.write_config(http_port)
        self.log_path = os.path.join(self.dir, "pebble.log")
        self.env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_VA_ALWAYS_VALID="0",
                        PEBBLE_WFE_NONCEREJECT=str(nonce_reject), PEBBLE_AUTHZREUSE="0")
        self.procs = []

    def write_config(self, http_port):
        cfg = {"pebble": {
            "listenAddress": "%s:%d" % (HOST, self.port),
            "managementListenAddress": "%s:%d" % (HOST, self.mgmt),
            "certificate": self.cert, "privateKey": self.key,
            "httpPort": http_port, "tlsPort": self.tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        if self.validity:
            cfg["pebble"]["certificateValidityPeriod"] = self.validity
        with open(self.config, "w") as f:
            json.dump(cfg, f)

    def retarget(self, http_port, tls_port=None):
        """Point the validations at tern's new ports (tern had to re-pick
        them at start because another process took one); the DNS server,
        and the names a test set in it, stay."""
        pebble = self.procs.pop()
        pebble.terminate()
        pebble.wait(timeout=10)
        if tls_port:
            self.tls_port = tls_port
        self.write_config(http_port)
        self.start_pebble()

    @property
    def directory(self):
        return "https://localhost:%d/dir" % self.port

    def start(self):
        log = open(self.log_path, "ab")
        self.procs.append(subprocess.Popen(
            [CHALLTESTSRV, "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
             "-dns01", "%s:%d" % (HOST, self.dns), "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", "%s:%d" % (HOST, self.dns_mgmt)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        self.start_pebble()
        wait_port(HOST, self.dns_mgmt)
        return self

    def start_pebble(self):
        log = open(self.log_path, "ab")
        self.procs.append(subprocess.Popen(
            [PEBBLE, "-config", self.config, "-dnsserver", "%s:%d" % (HOST, self.dns)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env))
        wait_port(HOST, self.port)

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        self.procs = []

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _dns(self, what, body):
        import urllib.request
        req = urllib.request.Request("http://%s:%d/%s" % (HOST, self.dns_mgmt, what),
                                     data=json.dumps(body).encode(), method="POST")
        urllib.request.urlopen(req, timeout=10).read()

    def dns_set(self, name, address):
        self._dns("add-a", {"host": name + ".", "addresses": [address]})

    def dns_clear(self, name):
        self._dns("clear-a", {"host": name + "."})


@pytest.fixture
def pebble_factory(tmp_path):
    made = []

    def make(http_port, **kw):
        p = Pebble(str(tmp_path), http_port, **kw)
        made.append(p)
        return p.start()

    yield make
    for p in made:
        p.stop()


def acme_server(tern_factory, pebble_factory, validity=None, start=True, domains=DOMAIN,
                retry_ms=300, nonce_reject=5, challenge=None):
    """tern with one [[tls.acme]] entry against a fresh pebble."""
    holder = {}

    def extra(t):
        if "pebble" not in holder:
            return ""
        return ('[[tls.acme]]\ndirectory = "%s"\ncontact = "mailto:postmaster@example.test"\n'
                'domains = "%s"\nca_file = "%s"\n%s' % (
                    holder["pebble"].directory, domains, holder["pebble"].cert,
                    'challenge = "%s"\n' % challenge if challenge else ""))

    t = tern_factory(extra_config=extra, listeners=LISTENERS, start=False)
    holder["pebble"] = pebble_factory(t.port("http"), validity=validity,
                                      nonce_reject=nonce_reject,
                                      tls_port=t.port("https") if challenge else None)
    t.write_config()
    t.on_new_ports = lambda t: holder["pebble"].retarget(
        t.port("http"), t.port("https") if challenge else None)
    # The first retry after a failed order (1 min in production); tern
    # inherits it from this process (the fixture below removes it after).
    os.environ["TERN_ACME_TEST_RETRY_MS"] = str(retry_ms)
    if start:
        t.start()
    return t, holder["pebble"]


@pytest.fixture(autouse=True)
def _retry_env(monkeypatch):
    monkeypatch.setenv("TERN_ACME_TEST_RETRY_MS", "300")  # undone after the test
    yield


def wait_log(t, pattern, count=1, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if len(re.findall(pattern, t.logs())) >= count:
            return
        if t.proc is not None and t.proc.poll() is not None:
            raise AssertionError("tern exited:\n" + t.logs()[-3000:])
        time.sleep(0.1)
    raise AssertionError("no %r (x%d) in the log:\n%s" % (pattern, count, t.logs()[-4000:]))


def peer_cert(port, server_name=DOMAIN):
    """The DER certificate a TLS listener presents."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((HOST, port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=server_name) as ss:
            return ss.getpeercert(binary_form=True)


def cert_info(der):
    from cryptography import x509
    c = x509.load_der_x509_certificate(der)
    issuer = c.issuer.rfc4514_string()
    san = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return issuer, san.get_values_for_type(x509.DNSName), c


def test_issue_and_serve_on_every_listener(tern_factory, pebble_factory):
    t, pebble = acme_server(tern_factory, pebble_factory)
    # Until the certificate arrives the listeners serve the self-signed one.
    wait_log(t, r"acme event=issued domain=%s" % re.escape(DOMAIN), timeout=30)
    wait_log(t, r"event=tls_reloaded reason=acme")
    for name in ("https", "imaps"):
        issuer, names, _ = cert_info(peer_cert(t.port(name)))
        assert "Pebble" in issuer, issuer
        assert names == [DOMAIN]
    # STARTTLS too.
    import smtplib
    s = smtplib.SMTP(HOST, t.port("smtp"), timeout=10)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    s.starttls(context=ctx)
    issuer, _, _ = cert_info(s.sock.getpeercert(binary_form=True))
    s.quit()
    assert "Pebble" in issuer
    # The files, the key private, and the metrics.
    crt = os.path.join(t.data_dir, "acme", DOMAIN + ".crt")
    key = os.path.join(t.data_dir, "acme", DOMAIN + ".key")
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert os.stat(os.path.join(t.data_dir, "acme", "account.key")).st_mode & 0o777 == 0o600
    assert "PRIVATE KEY" not in t.logs()
    assert open(crt).read().count("BEGIN CERTIFICATE") >= 2  # leaf and intermediate
    import urllib.request
    body = urllib.request.urlopen("https://%s:%d/metrics" % (HOST, t.port("https")),
                                  context=ctx, timeout=10).read()
    text = body.decode()
    assert 'tern_acme_orders_total{result="issued"} 1' in text
    m = re.search(r"^tern_acme_cert_expiry_timestamp_seconds (\S+)$", text, re.M)
    assert m and float(m.group(1)) > time.time()


def test_established_connection_survives_the_swap(tern_factory, pebble_factory):
    t, pebble = acme_server(tern_factory, pebble_factory, start=False)
    t.start()
    # A TLS session opened on the self-signed certificate, before issuance.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((HOST, t.port("imaps")), timeout=10)
    old = ctx.wrap_socket(raw, server_hostname=DOMAIN)
    greeting = old.recv(4096)
    assert greeting.startswith(b"* OK")
    issuer_before, _, _ = cert_info(old.getpeercert(binary_form=True))
    wait_log(t, r"event=tls_reloaded reason=acme", timeout=30)
    old.sendall(b"a1 CAPABILITY\r\n")
    data = b""
    while b"a1 OK" not in data:
        chunk = old.recv(4096)
        assert chunk, "the old session was dropped"
        data += chunk
    old.close()
    assert "Pebble" not in issuer_before
    issuer, _, _ = cert_info(peer_cert(t.port("imaps")))
    assert "Pebble" in issuer


def test_bad_nonces_are_retried(tern_factory, pebble_factory):
    # pebble refuses half of the good nonces as badNonce (RFC 8555 §6.5):
    # each is signed again with the nonce that came with the refusal.
    t, pebble = acme_server(tern_factory, pebble_factory, nonce_reject=50)
    wait_log(t, r"acme event=issued", timeout=60)
    assert "acme event=bad_nonce_retry" in t.logs()


def test_restart_keeps_the_certificate(tern_factory, pebble_factory):
    t, pebble = acme_server(tern_factory, pebble_factory)
    wait_log(t, r"acme event=issued", timeout=30)
    fp1 = peer_cert(t.port("imaps"))
    t.stop()
    orders_before = len(re.findall(r"acme event=order_start", t.logs()))
    t.start()
    wait_log(t, r"acme event=certificate_loaded domain=%s" % re.escape(DOMAIN))
    # Served from the first moment, and no new order.
    assert peer_cert(t.port("imaps")) == fp1
    time.sleep(1.5)
    assert len(re.findall(r"acme event=order_start", t.logs())) == orders_before


def test_renewal_at_two_thirds_of_the_lifetime(tern_factory, pebble_factory):
    # pebble's certificates live 12 s here: renewal comes at about 8 s.
    t, pebble = acme_server(tern_factory, pebble_factory, validity=12)
    wait_log(t, r"acme event=issued", timeout=30)
    first = peer_cert(t.port("imaps"))
    wait_log(t, r"acme event=order_start domain=\S+ reason=renewal", timeout=20)
    wait_log(t, r"acme event=issued", count=2, timeout=30)
    wait_log(t, r"event=tls_reloaded reason=acme", count=2)
    second = peer_cert(t.port("imaps"))
    assert first != second
    _, _, c1 = cert_info(first)
    _, _, c2 = cert_info(second)
    assert c2.serial_number != c1.serial_number


def test_failed_challenge_is_retried(tern_factory, pebble_factory):
    # The CA's DNS first sends it to 127.0.0.2, where nothing listens, so
    # the first validation fails; then the name points back at tern, and
    # the retry (after the backoff) succeeds, in the same process.
    t, pebble = acme_server(tern_factory, pebble_factory, start=False, retry_ms=1500)
    pebble.dns_set(DOMAIN, "127.0.0.2")
    t.start()
    wait_log(t, r"acme event=order_failed", timeout=30)
    assert "authorization for %s is invalid" % DOMAIN in t.logs()
    pebble.dns_clear(DOMAIN)
    wait_log(t, r"acme event=order_start domain=\S+ reason=retry", timeout=30)
    wait_log(t, r"acme event=issued", timeout=30)
    issuer, _, _ = cert_info(peer_cert(t.port("imaps")))
    assert "Pebble" in issuer
    import urllib.request
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    text = urllib.request.urlopen("https://%s:%d/metrics" % (HOST, t.port("https")),
                                  context=ctx, timeout=10).read().decode()
    assert re.search(r'tern_acme_orders_total\{result="failed"\} [1-9]', text)
    assert 'tern_acme_orders_total{result="issued"} 1' in text


def test_expired_certificate_on_disk_is_replaced(tern_factory, pebble_factory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    t, pebble = acme_server(tern_factory, pebble_factory, start=False)
    d = os.path.join(t.data_dir, "acme")
    os.makedirs(d, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(7)
            .not_valid_before(now - datetime.timedelta(days=90))
            .not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(DOMAIN)]), False)
            .sign(key, hashes.SHA256()))
    with open(os.path.join(d, DOMAIN + ".crt"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(d, DOMAIN + ".key"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    t.start()
    wait_log(t, r"acme event=certificate_expired domain=%s" % re.escape(DOMAIN))
    wait_log(t, r"acme event=issued", timeout=30)
    _, _, c = cert_info(peer_cert(t.port("imaps")))
    assert c.serial_number != 7


def test_challenge_path_answers_only_known_tokens(tern_factory, pebble_factory):
    import urllib.error
    import urllib.request
    t, pebble = acme_server(tern_factory, pebble_factory)
    url = "http://%s:%d/.well-known/acme-challenge/" % (HOST, t.port("http"))
    for token in ("unknown-token", "a.b", "%2e%2e"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + token, timeout=10)
        assert e.value.code in (400, 404)
    # pebble fetched the real one over plain HTTP, and got it.
    wait_log(t, r"acme event=authorization_valid domain=%s" % re.escape(DOMAIN), timeout=30)


def test_bad_config_is_refused(tern_factory, tmp_path):
    for entry, want in (('directory = "http://x/dir"\ndomains = "a.example"', "https://"),
                        ('directory = "https://x/dir"\ndomains = "not a name!"', "DNS names"),
                        ('directory = "https://x/dir"', "needs"),
                        ('directory = "https://x/dir"\ndomains = "a.example"\nfoo = 1',
                         "tls.acme.foo")):
        p = tmp_path / "t.toml"
        p.write_text("[[tls.acme]]\n%s\n" % entry)
        from conftest import TERN_BIN
        r = subprocess.run([TERN_BIN, "--config", str(p), "check-config"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode != 0 and want in r.stderr, r.stderr
    p = tmp_path / "ok.toml"
    p.write_text('[[tls.acme]]\ndirectory = "https://x/dir"\n'
                 'domains = ["a.example", "B.example"]\n')
    from conftest import TERN_BIN
    r = subprocess.run([TERN_BIN, "--config", str(p), "check-config"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


ALPN_REFUSED = "needs tern built with mbedTLS 3.x"


def tls_alpn_supported(tmp_path):
    """Does this build take challenge = "tls-alpn-01"? (2.28 builds refuse it at
    config load, with ALPN_REFUSED in the message.)"""
    from conftest import TERN_BIN
    p = tmp_path / "alpn.toml"
    p.write_text('[[tls.acme]]\ndirectory = "https://x/dir"\ndomains = "a.example"\n'
                 'challenge = "tls-alpn-01"\n')
    r = subprocess.run([TERN_BIN, "--config", str(p), "check-config"], capture_output=True,
                       text=True, timeout=30)
    if r.returncode != 0:
        assert ALPN_REFUSED in r.stderr, r.stderr
        return False
    return True


def test_tls_alpn_01_refused_or_accepted(tmp_path):
    # Either answer is fine; a build must give one of them, and clearly.
    tls_alpn_supported(tmp_path)


def alpn_handshake(port, protocols, server_name=DOMAIN):
    """(negotiated ALPN, DER certificate) of a handshake offering protocols."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if protocols:
        ctx.set_alpn_protocols(protocols)
    with socket.create_connection((HOST, port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=server_name) as ss:
            return ss.selected_alpn_protocol(), ss.getpeercert(binary_form=True)


def test_issue_over_tls_alpn_01(tern_factory, pebble_factory, tmp_path):
    if not tls_alpn_supported(tmp_path):
        pytest.skip("tern is built with mbedTLS 2.28: tls-alpn-01 needs 3.x")
    t, pebble = acme_server(tern_factory, pebble_factory, challenge="tls-alpn-01")
    wait_log(t, r"acme event=challenge domain=%s type=tls-alpn-01" % re.escape(DOMAIN))
    wait_log(t, r"acme event=issued domain=%s" % re.escape(DOMAIN), timeout=30)
    wait_log(t, r"event=tls_reloaded reason=acme")
    assert "type=http-01" not in t.logs()
    # pebble's VA did connect with ALPN acme-tls/1 and got its answer.
    assert "tls-alpn-01 challenge answered" in t.logs()
    # Ordinary clients, with the ALPN they use or none, are unaffected.
    for name, protos, want in (("https", ["http/1.1"], "http/1.1"), ("https", None, None),
                               ("imaps", ["imap"], "imap"), ("imaps", None, None),
                               ("https", ["h2", "http/1.1"], "http/1.1")):
        got, der = alpn_handshake(t.port(name), protos)
        assert got == want, (name, protos, got)
        issuer, names, _ = cert_info(der)
        assert "Pebble" in issuer and names == [DOMAIN], issuer
    # acme-tls/1 with no challenge pending: refused, not the normal certificate.
    with pytest.raises((ssl.SSLError, ConnectionError)):
        alpn_handshake(t.port("https"), ["acme-tls/1"])
    # The IMAPS listener still speaks IMAP after an ALPN handshake.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["imap"])
    with socket.create_connection((HOST, t.port("imaps")), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname=DOMAIN) as ss:
            assert ss.recv(100).startswith(b"* OK")


def test_revoke_then_sighup_orders_a_new_one(tern_factory, pebble_factory):
    import signal
    import urllib.request
    t, pebble = acme_server(tern_factory, pebble_factory)
    wait_log(t, r"acme event=issued domain=%s" % re.escape(DOMAIN), timeout=30)
    wait_log(t, r"event=tls_reloaded reason=acme")
    crt = os.path.join(t.data_dir, "acme", DOMAIN + ".crt")
    key = os.path.join(t.data_dir, "acme", DOMAIN + ".key")
    _, _, old = cert_info(peer_cert(t.port("https")))

    # Not a configured name: refused, nothing touched.
    r = t.cli("acme", "revoke", "other.example.test")
    assert r.returncode == 1 and "no [[tls.acme]] entry names" in r.stderr, r.stderr
    assert os.path.exists(crt)

    r = t.cli("acme", "revoke", DOMAIN.upper())
    assert r.returncode == 0, r.stderr
    assert "SIGHUP" in r.stdout
    assert not os.path.exists(crt) and not os.path.exists(key)
    # pebble knows it as revoked (its management API, by serial).
    url = "https://%s:%d/cert-status-by-serial/%x" % (HOST, pebble.mgmt, old.serial_number)
    ctx = ssl.create_default_context(cafile=pebble.cert)
    ctx.check_hostname = False
    status = json.loads(urllib.request.urlopen(url, context=ctx, timeout=10).read())
    assert status.get("Status") == "Revoked", status
    # A second revocation has nothing left to revoke.
    r = t.cli("acme", "revoke", DOMAIN)
    assert r.returncode == 1 and "no readable certificate" in r.stderr, r.stderr

    # SIGHUP: the server notices, orders a new one and serves it.
    t.proc.send_signal(signal.SIGHUP)
    wait_log(t, r"acme event=certificate_gone domain=%s" % re.escape(DOMAIN))
    wait_log(t, r"event=tls_reload_skipped reason=acme_certificate_gone")
    wait_log(t, r"acme event=issued domain=%s" % re.escape(DOMAIN), count=2, timeout=30)
    wait_log(t, r"event=tls_reloaded reason=acme", count=2)
    issuer, names, new = cert_info(peer_cert(t.port("https")))
    assert "Pebble" in issuer and names == [DOMAIN]
    assert new.serial_number != old.serial_number
    assert os.path.exists(crt)
