"""HTTP listeners: autoconfiguration, health, metrics, and what bad input gets.

Real clients where they exist (curl --http1.1, Python's http.client, plistlib
for the Apple profile), raw sockets for exact bytes and for everything a
client should not send.
"""
import gzip
import http.client
import os
import plistlib
import re
import select
import socket
import ssl
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import HOST, LISTENERS, sanitized_build, ssl_ctx

WEB = LISTENERS + [("http", "http", "none"), ("https", "http", "implicit")]


def web(tern_factory, extra="", **kw):
    return tern_factory(extra_config=extra, listeners=WEB, **kw)


def raw(t, data, name="http", timeout=5.0, until_close=True):
    """Send bytes on a fresh connection and read until the server closes
    (or, with until_close False, until one response is in)."""
    s = socket.create_connection((HOST, t.port(name)), timeout=timeout)
    if name == "https":
        s = ssl_ctx().wrap_socket(s, server_hostname="localhost")
    try:
        s.sendall(data)
        out = b""
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                return out, True
            out += chunk
            if not until_close and b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: *(\d+)", head, re.I)
                if m and len(body) >= int(m.group(1)):
                    return out, False
        return out, False
    finally:
        s.close()


def status_of(resp):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", resp)
    return int(m.group(1)) if m else None


def get(t, path, name="https", method="GET", headers=None, body=None):
    if name == "https":
        c = http.client.HTTPSConnection(HOST, t.port(name), context=ssl_ctx(), timeout=10)
    else:
        c = http.client.HTTPConnection(HOST, t.port(name), timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


# ---- Thunderbird autoconfig ----

# What Thunderbird's autoconfig reader (comm/mailnews/.../readFromXML.sys.mjs)
# insists on: a clientConfig with an emailProvider (id), incoming servers of
# type imap or pop3 and outgoing ones of type smtp, each with hostname,
# port 1-65535, socketType plain|SSL|STARTTLS, username and a known
# authentication; no server with an unknown value is used.
TB_SOCKET = {"plain", "SSL", "STARTTLS"}
TB_AUTH = {"password-cleartext", "plain", "password-encrypted", "secure", "GSSAPI", "NTLM",
           "OAuth2", "TLS-client-cert", "none", "client-IP-address"}


def thunderbird_servers(xml_text):
    root = ET.fromstring(xml_text)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    prov = root.find("emailProvider")
    assert prov is not None and prov.get("id")
    assert prov.findtext("domain")
    servers = []
    for kind, types in (("incomingServer", {"imap", "pop3"}), ("outgoingServer", {"smtp"})):
        for s in prov.findall(kind):
            assert s.get("type") in types
            port = int(s.findtext("port"))
            assert 1 <= port <= 65535
            assert s.findtext("socketType") in TB_SOCKET
            assert s.findtext("authentication") in TB_AUTH
            assert s.findtext("username")
            servers.append((s.get("type"), s.findtext("hostname"), port,
                            s.findtext("socketType"), s.findtext("username")))
    return prov, servers


@pytest.mark.parametrize("path", ["/.well-known/autoconfig/mail/config-v1.1.xml",
                                  "/mail/config-v1.1.xml"])
def test_thunderbird_autoconfig_lists_the_listeners(tern_factory, path):
    t = web(tern_factory)
    # over plain HTTP too: Thunderbird asks http://autoconfig.<domain>/ first
    r, body = get(t, path + "?emailaddress=alice%40example.test", name="http")
    assert r.status == 200
    assert r.getheader("Content-Type").startswith("application/xml")
    prov, servers = thunderbird_servers(body)
    assert prov.get("id") == "example.test"
    host = "mail.example.test"
    want = [("imap", host, t.port("imaps"), "SSL", "%EMAILADDRESS%"),
            ("imap", host, t.port("imap"), "STARTTLS", "%EMAILADDRESS%"),
            ("pop3", host, t.port("pop3s"), "SSL", "%EMAILADDRESS%"),
            ("pop3", host, t.port("pop3"), "STARTTLS", "%EMAILADDRESS%"),
            ("smtp", host, t.port("submissions"), "SSL", "%EMAILADDRESS%"),
            ("smtp", host, t.port("submission"), "STARTTLS", "%EMAILADDRESS%")]
    assert servers == want
    # mx (port 25 kind) is not a submission service
    assert t.port("smtp") not in [s[2] for s in servers]
    # without an address: the primary domain
    r, body = get(t, path)
    assert r.status == 200
    prov, servers2 = thunderbird_servers(body)
    assert prov.findtext("domain") == "example.test" and servers2 == want


def test_autoconfig_escapes_what_it_echoes(tern_factory):
    t = web(tern_factory)
    r, body = get(t, "/mail/config-v1.1.xml?emailaddress=a%26b%40x%26y.test")
    assert r.status == 200
    prov, _ = thunderbird_servers(body)  # still well-formed XML
    assert prov.get("id") == "x&y.test"
    # markup is not an address: the primary domain instead
    r, body = get(t, "/mail/config-v1.1.xml?emailaddress=%3Cscript%3E%40evil.test")
    prov, _ = thunderbird_servers(body)
    assert prov.get("id") == "example.test" and b"script" not in body


def test_autoconfig_with_curl_validators_and_gzip(tern_factory):
    t = web(tern_factory)
    url = "https://%s:%d/mail/config-v1.1.xml" % (HOST, t.port("https"))
    out = subprocess.run(["curl", "-sk", "--http1.1", "-D", "-", "-o", "/dev/null", url],
                         capture_output=True, text=True, timeout=20).stdout
    etag = re.search(r"(?im)^etag: (\S+)", out).group(1)
    assert re.search(r"(?im)^strict-transport-security: max-age=\d+", out)
    # a matching If-None-Match: 304, no body
    r, body = get(t, "/mail/config-v1.1.xml", headers={"If-None-Match": etag})
    assert r.status == 304 and body == b"" and r.getheader("ETag") == etag
    r, body = get(t, "/mail/config-v1.1.xml", headers={"If-None-Match": '"other", W/' + etag})
    assert r.status == 304
    r, body = get(t, "/mail/config-v1.1.xml", headers={"If-None-Match": '"other"'})
    assert r.status == 200 and body
    # gzip when asked, identical once decompressed; not when refused
    r, zbody = get(t, "/mail/config-v1.1.xml", headers={"Accept-Encoding": "gzip"})
    assert r.getheader("Content-Encoding") == "gzip"
    assert r.getheader("Vary") == "Accept-Encoding"
    assert gzip.decompress(zbody) == body
    r, pbody = get(t, "/mail/config-v1.1.xml", headers={"Accept-Encoding": "gzip;q=0, br"})
    assert r.getheader("Content-Encoding") is None and pbody == body
    # curl --compressed agrees
    out = subprocess.run(["curl", "-sk", "--http1.1", "--compressed", url], capture_output=True,
                         timeout=20).stdout
    assert out == body
    # HEAD: the same headers, no body
    r, hbody = get(t, "/mail/config-v1.1.xml", method="HEAD")
    assert r.status == 200 and hbody == b"" and int(r.getheader("Content-Length")) == len(body)


# ---- Outlook and Apple ----

AUTODISCOVER_REQ = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/'
    'requestschema/2006"><Request><EMailAddress>%s</EMailAddress>'
    '<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/'
    'responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>')

NS = {"a": "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006",
      "o": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}


def test_outlook_autodiscover(tern_factory):
    t = web(tern_factory)
    for path in ("/autodiscover/autodiscover.xml", "/Autodiscover/Autodiscover.xml"):
        r, body = get(t, path, method="POST", body=AUTODISCOVER_REQ % "bob@example.test",
                      headers={"Content-Type": "text/xml"})
        assert r.status == 200, body
        root = ET.fromstring(body)
        acct = root.find("o:Response/o:Account", NS)
        assert acct.findtext("o:AccountType", namespaces=NS) == "email"
        assert acct.findtext("o:Action", namespaces=NS) == "settings"
        protos = {p.findtext("o:Type", namespaces=NS): p for p in acct.findall("o:Protocol", NS)}
        assert set(protos) == {"IMAP", "POP3", "SMTP"}
        assert protos["IMAP"].findtext("o:Port", namespaces=NS) == str(t.port("imaps"))
        assert protos["IMAP"].findtext("o:SSL", namespaces=NS) == "on"
        assert protos["SMTP"].findtext("o:Port", namespaces=NS) == str(t.port("submissions"))
        assert protos["SMTP"].findtext("o:LoginName", namespaces=NS) == "bob@example.test"
        assert protos["SMTP"].findtext("o:Server", namespaces=NS) == "mail.example.test"
    # no address, or not one: 400; GET is not how it is asked
    r, _ = get(t, "/autodiscover/autodiscover.xml", method="POST", body="<x/>")
    assert r.status == 400
    r, _ = get(t, "/autodiscover/autodiscover.xml", method="POST",
               body=AUTODISCOVER_REQ % "<b>@x")
    assert r.status == 400
    r, _ = get(t, "/autodiscover/autodiscover.xml")
    assert r.status == 405 and "POST" in r.getheader("Allow")


def test_apple_mobileconfig(tern_factory):
    t = web(tern_factory)
    r, body = get(t, "/mobileconfig?emailaddress=carol%40example.test")
    assert r.status == 200
    assert r.getheader("Content-Type") == "application/x-apple-aspen-config"
    assert "attachment" in r.getheader("Content-Disposition")
    prof = plistlib.loads(body)
    assert prof["PayloadType"] == "Configuration" and prof["PayloadVersion"] == 1
    mail = prof["PayloadContent"][0]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAccountType"] == "EmailTypeIMAP"
    assert mail["EmailAddress"] == "carol@example.test"
    assert mail["IncomingMailServerHostName"] == "mail.example.test"
    assert mail["IncomingMailServerPortNumber"] == t.port("imaps")
    assert mail["IncomingMailServerUseSSL"] is True
    assert mail["OutgoingMailServerPortNumber"] == t.port("submissions")
    assert mail["OutgoingMailServerUsername"] == "carol@example.test"
    assert re.fullmatch(r"[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}",
                        mail["PayloadUUID"])
    assert mail["PayloadUUID"] != prof["PayloadUUID"]
    # the same address, the same identifiers (reinstalling replaces it)
    _, body2 = get(t, "/mobileconfig?emailaddress=carol%40example.test")
    assert plistlib.loads(body2)["PayloadUUID"] == prof["PayloadUUID"]
    r, _ = get(t, "/mobileconfig")
    assert r.status == 400
    # plain HTTP: redirected, it carries an address
    r, _ = get(t, "/mobileconfig?emailaddress=carol%40example.test", name="http")
    assert r.status == 301
    assert r.getheader("Location") == "https://%s:%d/mobileconfig?emailaddress=carol%%40example.test" % (
        HOST, t.port("https"))


# ---- health and metrics ----

def test_health_and_readiness(tern_factory):
    t = web(tern_factory)
    r, body = get(t, "/healthz", name="http")  # no redirect: probes speak plain HTTP
    assert r.status == 200 and body == b"ok\n"
    assert r.getheader("Strict-Transport-Security") is None
    r, body = get(t, "/readyz")
    assert r.status == 200 and body == b"ready\n"
    assert r.getheader("Cache-Control") == "no-store"
    r, _ = get(t, "/readyz", name="http")
    assert r.status == 301


def scrape(t, headers=None):
    r, body = get(t, "/metrics", headers=headers)
    return r.status, body.decode()


def sample(text, name, labels=""):
    key = name + ("{%s}" % labels if labels else "")
    for line in text.splitlines():
        if line.startswith(key + " "):
            return float(line.split()[-1])
    raise AssertionError("no sample %s in\n%s" % (key, text))


def check_exposition(text):
    """Prometheus text format 0.0.4: HELP and TYPE once per family, before
    its samples; every sample line parses."""
    seen_type = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            assert name not in seen_type, "TYPE twice for " + name
            assert typ in ("counter", "gauge", "histogram")
            seen_type[name] = typ
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"\})? (\S+)', line)
        assert m, "bad sample line %r" % line
        float(m.group(3))
        base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in seen_type or base in seen_type, line


def test_metrics_count_what_happens(tern_factory):
    import imaplib
    import smtplib
    t = web(tern_factory)
    t.add_user("dave@example.test", "dave-password-1")
    status, before = scrape(t)
    assert status == 200
    check_exposition(before)
    im = imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx())
    im.login("dave@example.test", "dave-password-1")
    with pytest.raises(imaplib.IMAP4.error):
        imaplib.IMAP4_SSL(HOST, t.port("imaps"), ssl_context=ssl_ctx()).login(
            "dave@example.test", "wrong")
    s = smtplib.SMTP(HOST, t.port("smtp"), timeout=10)
    s.sendmail("x@remote.test", ["dave@example.test"], b"Subject: m\r\n\r\nhi\r\n")
    s.quit()
    _, after = scrape(t)
    check_exposition(after)
    assert sample(after, "tern_logins_total", 'result="ok"') == sample(
        before, "tern_logins_total", 'result="ok"') + 1
    assert sample(after, "tern_logins_total", 'result="failed"') >= 1
    assert sample(after, "tern_messages_accepted_total") == 1
    assert sample(after, "tern_messages_stored_total") == 1
    assert sample(after, "tern_smtp_replies_total", 'class="2"') >= 5
    assert sample(after, "tern_connections", 'protocol="imap"') == 1  # im is still open
    assert sample(after, "tern_connections_tls", 'protocol="imap"') == 1  # over IMAPS
    assert sample(after, "tern_connections_tls", 'protocol="smtp"') == 0
    assert sample(after, "tern_dns_mx_seconds_count") == 0  # nothing relayed
    assert sample(after, "tern_store_fsyncs_total") >= 1
    assert sample(after, "tern_connections_accepted_total", 'protocol="smtp"') == sample(
        before, "tern_connections_accepted_total", 'protocol="smtp"') + 1
    assert sample(after, "tern_tls_handshakes_total", 'version="TLSv1.2"') + sample(
        after, "tern_tls_handshakes_total", 'version="TLSv1.3"') >= 3
    assert sample(after, "tern_store_commit_seconds_count") >= 1
    assert sample(after, "tern_queue_messages") == 0
    assert sample(after, "process_resident_memory_bytes") > 1e6
    # the page caches: at least the pages just read and written, less than RSS
    assert 16 * 1024 < sample(after, "tern_store_cache_bytes") < sample(
        after, "process_resident_memory_bytes")
    assert sample(after, "process_open_fds") > 5
    # malloc's live heap holds the page caches; freed-but-held is reported beside it
    # (not in a sanitizer build, whose allocator glibc's mallinfo2 cannot see)
    if "\ntern_heap_in_use_bytes " in after:
        assert sample(after, "tern_store_cache_bytes") < sample(
            after, "tern_heap_in_use_bytes") < sample(after, "process_resident_memory_bytes")
        assert sample(after, "tern_heap_free_bytes") >= 0
    else:
        assert sanitized_build(), "tern_heap_in_use_bytes is missing from a glibc build"
    im.logout()


def test_metrics_token(tern_factory):
    t = web(tern_factory, '[http]\nmetrics_token = "s3cret-token"\n')
    status, _ = scrape(t)
    assert status == 401
    r, _ = get(t, "/metrics")
    assert r.getheader("WWW-Authenticate").startswith("Bearer")
    assert scrape(t, {"Authorization": "Bearer wrong"})[0] == 401
    assert scrape(t, {"Authorization": "Bearer s3cret-token-and-more"})[0] == 401
    assert scrape(t, {"Authorization": "Bearer s3cret-token"})[0] == 200
    assert "s3cret-token" not in t.logs()


# ---- the protocol itself ----

def test_every_response_has_the_security_headers(tern_factory):
    t = web(tern_factory)
    for name, path in (("https", "/nope"), ("https", "/healthz"), ("http", "/healthz"),
                       ("http", "/mail/config-v1.1.xml"), ("http", "/elsewhere")):
        r, _ = get(t, path, name=name)
        assert r.getheader("X-Content-Type-Options") == "nosniff", (name, path)
        assert r.getheader("Referrer-Policy") == "no-referrer"
        assert (r.getheader("Strict-Transport-Security") is not None) == (name == "https")
        assert r.getheader("Date")
    r, _ = get(t, "/nope")
    assert r.status == 404
    r, _ = get(t, "/elsewhere?x=1", name="http")
    assert r.status == 301
    assert r.getheader("Location") == "https://%s:%d/elsewhere?x=1" % (HOST, t.port("https"))


def test_keep_alive_and_pipelining_in_order(tern_factory):
    t = web(tern_factory)
    req = (b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n"
           b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n"
           b"HEAD /mail/config-v1.1.xml HTTP/1.1\r\nHost: a\r\n\r\n"
           b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    out, closed = raw(t, req, name="https")
    assert closed
    statuses = [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", out)]
    assert statuses == [200, 404, 200, 200]
    assert out.count(b"Connection: close") == 1 and out.endswith(b"ok\n")
    # byte by byte, the same answers
    s = socket.create_connection((HOST, t.port("http")), timeout=5)
    for b in req.replace(b"/nope", b"/mail/config-v1.1.xml"):
        s.send(bytes([b]))
    out2 = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out2 += chunk
    s.close()
    assert [int(x) for x in re.findall(rb"HTTP/1\.1 (\d{3}) ", out2)] == [200, 200, 200, 200]
    # HTTP/1.0 closes unless asked to keep alive
    out, closed = raw(t, b"GET /healthz HTTP/1.0\r\n\r\n")
    assert status_of(out) == 200 and closed and b"Connection: close" in out
    out, closed = raw(t, b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                      timeout=1.5)
    assert status_of(out) == 200 and not closed and b"Connection: keep-alive" in out


def test_expect_100_continue(tern_factory):
    t = web(tern_factory)
    body = (AUTODISCOVER_REQ % "erin@example.test").encode()
    s = socket.create_connection((HOST, t.port("http")), timeout=5)
    s.sendall(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: a\r\n"
              b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body))
    assert s.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
    s.sendall(body)
    out = b""
    while not re.search(rb"\r\n\r\nMoved to HTTPS\n$", out):
        chunk = s.recv(65536)
        assert chunk, out
        out += chunk
    s.close()
    # on the plain listener autodiscover redirects (it is not a plain endpoint)
    assert status_of(out) == 301
    # chunked body to the HTTPS listener
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50])
                      for i in range(0, len(body), 50))
    out, _ = raw(t, b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: a\r\n"
                    b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks +
                    b"0\r\n\r\n", name="https")
    assert status_of(out) == 200 and b"erin@example.test" in out


BAD = [
    # (request bytes, status)
    (b"GET / HTTP/1.1\r\n\r\n", 400),                                   # no Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),             # two Hosts
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),             # CL + TE
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
     400),                                                              # two CLs
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400),          # obs-fold
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),                       # space before colon
    (b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n", 400),                  # bare CR
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"ffffffffffffffffff\r\n", 400),                                  # chunk size overflow
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n",
     400),                                                              # bare LF in chunked
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),           # NUL
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    (b"BREW / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
    (b"GET /a/../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET /a/%2e%2e/etc HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET /a%00b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"b" * 17000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"".join(b"X%d: y\r\n" % i for i in range(120)) +
     b"\r\n", 431),
    (b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: a\r\n"
     b"Content-Length: 2000000\r\n\r\n", 413),
    (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400),             # TLS to plain HTTP
]


@pytest.mark.parametrize("req,status", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_requests_get_their_status_and_a_close(tern_factory, req, status):
    t = web(tern_factory)
    out, closed = raw(t, req, name="https")
    assert status_of(out) == status, out[:300]
    assert closed and b"\r\nConnection: close\r\n" in out
    # and the server is fine
    r, _ = get(t, "/healthz")
    assert r.status == 200


def test_chunked_body_over_the_limit(tern_factory):
    t = web(tern_factory, "[http]\nmax_body = 4096\n")
    body = b"1000\r\n" + b"x" * 4096 + b"\r\n" + b"10\r\n" + b"y" * 16 + b"\r\n0\r\n\r\n"
    out, closed = raw(t, b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: a\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n" + body, name="https")
    assert status_of(out) == 413 and closed


def test_slow_head_gets_408_and_idle_keepalive_is_closed(tern_factory):
    t = web(tern_factory, "[http]\nheader_timeout = 1\nkeepalive_timeout = 2\n")
    s = socket.create_connection((HOST, t.port("http")), timeout=6)
    start = time.time()
    out = b""
    # one byte every 0.2 s, watching for the answer in between
    for b in b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Slow: " + b"z" * 100:
        if select.select([s], [], [], 0.2)[0]:
            break
        try:
            s.send(bytes([b]))
        except (BrokenPipeError, ConnectionResetError):
            break
    took = time.time() - start
    while True:
        try:
            chunk = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        out += chunk
    s.close()
    assert status_of(out) == 408, out
    assert 0.8 < took < 2, "the head deadline does not move with each byte (%.1f s)" % took
    # between requests: no deadline, only the keep-alive timeout, silently
    s = socket.create_connection((HOST, t.port("http")), timeout=6)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
    first = s.recv(4096)
    assert status_of(first) == 200
    start = time.time()
    assert s.recv(4096) == b""
    took = time.time() - start
    s.close()
    assert 1.5 < took < 4, took


def test_many_idle_connections_stay_cheap(tern_factory):
    """Idle keep-alive connections hold no input buffer: 500 of them add
    little to the server's memory. What an idle one keeps is ~3 KiB of
    structs (conn, HTTP session); the input buffer it gave back (~24 KiB)
    and the parser leave holes in the heap whose partial edge pages stay
    resident (glibc trims only whole free pages), so a few KiB more per
    connection is fragmentation, which varies from machine to machine
    (5.7 to 8.3 KiB seen). A held input buffer would cost 24 KiB or more."""
    t = web(tern_factory, "[limits]\nmax_connections_per_ip = 1000\n")
    pid = t.proc.pid

    def rss():
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    socks = []
    base = rss()
    for _ in range(500):
        s = socket.create_connection((HOST, t.port("http")), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        socks.append(s)
    for s in socks:
        assert status_of(s.recv(4096)) == 200
    # the server trims its heap after a quiet second: wait for it to settle
    deadline = time.time() + 8
    while True:
        time.sleep(0.5)
        per_conn = (rss() - base) / 500
        if per_conn < 12288 or time.time() > deadline:
            break
    for s in socks:
        s.close()
    if sanitized_build():
        return
    assert per_conn < 12288, "%.0f bytes per idle connection" % per_conn


# ---- static files ----

def static_server(tern_factory, tmp_path):
    root = tmp_path / "www"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>t</title>" + "x" * 2000)
    (root / "assets" / "app.js").write_text("console.log('hi');\n" * 200)
    (root / "assets" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    (root / "assets" / "pre.css").write_text("body{}\n" * 300)
    with gzip.open(root / "assets" / "pre.css.gz", "wb") as f:
        f.write(b"/* precompressed */" + b"body{}\n" * 300)
    (root / "empty").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("not for you")
    os.symlink(secret, root / "assets" / "link.txt")
    os.symlink(tmp_path, root / "up")
    t = web(tern_factory, '[http]\nstatic_dir = "%s"\n' % root)
    return t, root


def test_static_files(tern_factory, tmp_path):
    t, root = static_server(tern_factory, tmp_path)
    r, body = get(t, "/")
    assert r.status == 200 and body.startswith(b"<!doctype html>")
    assert r.getheader("Content-Type") == "text/html; charset=utf-8"
    assert "default-src 'none'" in r.getheader("Content-Security-Policy")
    r, body = get(t, "/assets/app.js", headers={"Accept-Encoding": "gzip"})
    assert r.status == 200 and r.getheader("Content-Encoding") == "gzip"
    assert gzip.decompress(body) == (root / "assets" / "app.js").read_bytes()
    assert r.getheader("Content-Type").startswith("text/javascript")
    etag = r.getheader("ETag")
    r, body = get(t, "/assets/app.js", headers={"If-None-Match": etag})
    assert r.status == 304 and body == b""
    r, body = get(t, "/assets/logo.png", headers={"Accept-Encoding": "gzip"})
    assert r.getheader("Content-Type") == "image/png" and r.getheader("Content-Encoding") is None
    assert body == (root / "assets" / "logo.png").read_bytes()
    # the .gz beside it is what gzip clients get; others get the file
    r, body = get(t, "/assets/pre.css", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(body).startswith(b"/* precompressed */")
    r, body = get(t, "/assets/pre.css")
    assert body == (root / "assets" / "pre.css").read_bytes()
    # a change on disk is seen (within the second the cache trusts it)
    time.sleep(1.1)
    (root / "assets" / "app.js").write_text("changed\n")
    r, body = get(t, "/assets/app.js")
    assert body == b"changed\n" and r.getheader("ETag") != etag
    # curl sees the same
    out = subprocess.run(["curl", "-sk", "--http1.1", "https://%s:%d/assets/app.js" % (
        HOST, t.port("https"))], capture_output=True, timeout=20).stdout
    assert out == b"changed\n"


@pytest.mark.parametrize("path", ["/empty/", "/empty", "/assets/link.txt", "/up/secret.txt",
                                  "/missing.js", "/assets/../../secret.txt",
                                  "/assets/%2e%2e/%2e%2e/secret.txt", "/assets%2f..%2fsecret.txt"])
def test_static_files_stay_inside(tern_factory, tmp_path, path):
    t, _ = static_server(tern_factory, tmp_path)
    out, _ = raw(t, b"GET %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % path.encode(),
                 name="https")
    assert status_of(out) in (400, 404), out[:200]
    assert b"not for you" not in out


def test_idle_tls_connections_give_their_record_buffers_back(tern_factory, tmp_path):
    """A TLS connection quiet for a second gives back the pages of its
    record buffers (conn_trim_idle); it then still works, with responses
    larger than those pages, again and again."""
    root = tmp_path / "www"
    root.mkdir()
    big = os.urandom(60000)
    (root / "big.bin").write_bytes(big)
    t = web(tern_factory, '[limits]\nmax_connections_per_ip = 1000\n[http]\nstatic_dir = "%s"\n'
            % root)
    pid = t.proc.pid

    def rss():
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    c = http.client.HTTPSConnection(HOST, t.port("https"), context=ssl_ctx(), timeout=10)
    for i in range(3):
        c.request("GET", "/big.bin")
        r = c.getresponse()
        assert r.status == 200 and r.read() == big
        c.request("POST", "/autodiscover/autodiscover.xml",
                  body=AUTODISCOVER_REQ % ("u%d@example.test" % i))
        r = c.getresponse()
        assert r.status == 200 and b"u%d@example.test" % i in r.read()
        time.sleep(1.6)  # trimmed in here
    c.close()

    socks = []
    time.sleep(1.5)
    base = rss()
    for _ in range(300):
        s = ssl_ctx().wrap_socket(socket.create_connection((HOST, t.port("https")), timeout=10))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n")
        socks.append(s)
    for s in socks:
        got = b""
        while len(got) < len(big):
            got += s.recv(65536)
    deadline = time.time() + 8
    while True:
        time.sleep(0.5)
        per_conn = (rss() - base) / 300
        if per_conn < 40 * 1024 or time.time() > deadline:
            break
    # and every one of them still answers
    for s in socks[:20]:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        assert b"200 OK" in s.recv(4096)
    for s in socks:
        s.close()
    if not sanitized_build():
        assert per_conn < 40 * 1024, "%.0f bytes per idle TLS connection" % per_conn


def test_mta_sts_policy(tern_factory):
    t = web(tern_factory, '[http]\nmta_sts_mode = "enforce"\n'
                          'mta_sts_mx = "mail.example.test, *.backup.example.test"\n')
    r, body = get(t, "/.well-known/mta-sts.txt", headers={"Host": "mta-sts.example.test"})
    assert r.status == 200 and r.getheader("Content-Type") == "text/plain"
    # RFC 8461 §3.2: CRLF-separated key/value pairs, version first
    assert body == (b"version: STSv1\r\nmode: enforce\r\nmx: mail.example.test\r\n"
                    b"mx: *.backup.example.test\r\nmax_age: 604800\r\n")
    # answered over plain HTTP too (no redirect), but only for mta-sts.<domain>
    r, _ = get(t, "/.well-known/mta-sts.txt", name="http",
               headers={"Host": "mta-sts.example.test"})
    assert r.status == 200
    r, _ = get(t, "/.well-known/mta-sts.txt", headers={"Host": "mail.example.test"})
    assert r.status == 404
    # off by default; the MX defaults to our host name
    t2 = web(tern_factory)
    r, _ = get(t2, "/.well-known/mta-sts.txt", headers={"Host": "mta-sts.example.test"})
    assert r.status == 404
    t3 = web(tern_factory, '[http]\nmta_sts_mode = "testing"\nmta_sts_max_age = 86400\n')
    r, body = get(t3, "/.well-known/mta-sts.txt", headers={"Host": "MTA-STS.example.test"})
    assert body == b"version: STSv1\r\nmode: testing\r\nmx: mail.example.test\r\nmax_age: 86400\r\n"
