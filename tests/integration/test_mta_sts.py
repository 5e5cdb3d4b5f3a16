"""Outbound MTA-STS (RFC 8461) and TLS-RPT counters, end to end.

tern A (a.test) relays to five destination domains. dnsmasq answers their
MX, the `_mta-sts` TXT records and the policy host `mta-sts.DOMAIN`; a
Python HTTPS server (certificate from a test CA, A's [queue] ca_file)
serves each domain's policy by its Host header; a Python SMTP sink per MX
(same port on its own loopback address) offers STARTTLS with a
certificate from the same CA, or no STARTTLS at all:

  enforce.test   enforce, MX named, good certificate   -> delivered over TLS
  badmx.test     enforce, MX not in the policy         -> deferred, no connection
  notls.test     enforce, MX without STARTTLS          -> deferred, nothing in clear
  wrongcert.test enforce, certificate for another name -> deferred, nothing sent
  testing.test   testing, MX without STARTTLS          -> delivered, failure counted
"""
import http.server
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time

import pytest

from relayutil import (dns_cleanup, DNSMASQ, Dns, deferred_rows, queue_config,  # noqa: F401
                       submit, submit_to_each, wait_for)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

PW = "mta-sts-test-password-1"
POLICY_IP = "127.0.0.10"
MX = {  # domain -> (MX address, mode, policy mx, sink offers STARTTLS, certificate name)
    "enforce.test": ("127.0.0.11", "enforce", "mx.enforce.test", True, "mx.enforce.test"),
    "badmx.test": ("127.0.0.12", "enforce", "*.elsewhere.test", True, "mx.badmx.test"),
    "notls.test": ("127.0.0.13", "enforce", "mx.notls.test", False, None),
    "wrongcert.test": ("127.0.0.14", "enforce", "mx.wrongcert.test", True, "mx.other.test"),
    "testing.test": ("127.0.0.15", "testing", "*.testing.test", False, None),
}


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d):
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-subj", "/CN=tern MTA-STS test CA", "-days", "2", "-keyout", "ca.key", "-out",
            "ca.crt", "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
            "keyUsage=critical,keyCertSign", cwd=d)


def make_leaf(d, name, sans):
    with open(os.path.join(d, name + ".ext"), "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + s for s in sans) + "\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj",
            "/CN=" + sans[0], "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt",
            cwd=d)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, name + ".crt"), os.path.join(d, name + ".key"))
    return ctx


class PolicyServer:
    """HTTPS on POLICY_IP: the policy of the domain the Host header names."""

    def __init__(self, ctx, policies):
        fetches = self.fetches = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = self.headers.get("Host", "").split(":")[0]
                fetches.append((host, self.path))
                body = policies.get(host[len("mta-sts."):])
                if self.path != "/.well-known/mta-sts.txt" or body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer((POLICY_IP, 0), Handler)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class TlsSink:
    """SMTP receiver on (ip, port); STARTTLS with ctx when ctx is set.
    Records each message with whether it came over TLS."""

    def __init__(self, ip, port, ctx):
        self.ctx, self.messages, self.connections = ctx, [], 0
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.sock.listen(16)
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.session, args=(c,), daemon=True).start()

    def session(self, c):
        tls = False
        try:
            c.settimeout(20)
            f = c.makefile("rb")
            c.sendall(b"220 sink ESMTP\r\n")
            rcpts = []
            while True:
                line = f.readline()
                if not line:
                    return
                up = line.strip().upper()
                if up.startswith(b"EHLO"):
                    ext = [b"250-sink", b"250-PIPELINING"]
                    if self.ctx and not tls:
                        ext.append(b"250-STARTTLS")
                    c.sendall(b"\r\n".join(ext + [b"250 8BITMIME"]) + b"\r\n")
                elif up == b"STARTTLS" and self.ctx and not tls:
                    c.sendall(b"220 go ahead\r\n")
                    try:
                        c = self.ctx.wrap_socket(c, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                    f = c.makefile("rb")
                    tls = True
                elif up.startswith(b"RCPT"):
                    rcpts.append(line)
                    c.sendall(b"250 ok\r\n")
                elif up == b"DATA":
                    c.sendall(b"354 go\r\n")
                    data = b""
                    while True:
                        l = f.readline()
                        if l in (b".\r\n", b""):
                            break
                        data += l
                    self.messages.append((tls, data))
                    c.sendall(b"250 2.0.0 ok\r\n")
                elif up == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            return
        finally:
            c.close()

    def stop(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def free_port_on_all():
    for _ in range(50):
        with socket.socket() as s:
            s.bind((MX["enforce.test"][0], 0))
            port = s.getsockname()[1]
        try:
            for ip, *_ in MX.values():
                with socket.socket() as t:
                    t.bind((ip, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no port free on every sink address")


def test_mta_sts_enforce_testing_and_counters(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-mtasts-")
    sinks, policy, dns, a = [], None, None, None
    try:
        make_ca(d)
        policy_ctx = make_leaf(d, "policy", ["mta-sts." + dom for dom in MX])
        policies, records = {}, []
        for dom, (ip, mode, pattern, _, _) in MX.items():
            policies[dom] = ("version: STSv1\r\nmode: %s\r\nmx: %s\r\nmax_age: 86400\r\n"
                             % (mode, pattern)).encode()
            records += ["--mx-host=%s,mx.%s,10" % (dom, dom),
                        "--host-record=mx.%s,%s" % (dom, ip),
                        "--host-record=mta-sts.%s,%s" % (dom, POLICY_IP),
                        '--txt-record=_mta-sts.%s,v=STSv1; id=20261206T1' % dom]
        policy = PolicyServer(policy_ctx, policies)
        port = free_port_on_all()
        by_dom = {}
        for dom, (ip, _, _, starttls, certname) in MX.items():
            ctx = make_leaf(d, "mx-" + dom, [certname]) if starttls else None
            by_dom[dom] = TlsSink(ip, port, ctx)
            sinks.append(by_dom[dom])
        dns = Dns(records, d)
        a = tern_factory(domain="a.test", host="127.0.0.2",
                         extra_config=queue_config(dns, port, ca_file='"%s/ca.crt"' % d,
                                                   mta_sts_port=policy.port))
        a.add_user("alice@a.test", PW)
        time.sleep(0.5)
        submit_to_each(a, "alice@a.test", PW, MX, "mta-sts")

        wait_for(lambda: by_dom["enforce.test"].messages, timeout=20, what="enforce delivery")
        assert by_dom["enforce.test"].messages[0][0] is True, "delivered over TLS"
        wait_for(lambda: by_dom["testing.test"].messages, timeout=20, what="testing delivery")
        assert by_dom["testing.test"].messages[0][0] is False

        def deferred(dom):
            return deferred_rows(a, "bob@" + dom)
        for dom in ("badmx.test", "notls.test", "wrongcert.test"):
            rows = wait_for(lambda: deferred(dom), timeout=20, what="deferral for " + dom)
            assert by_dom[dom].messages == [], dom + ": nothing delivered"
        assert "MTA-STS" in deferred("badmx.test")[0][3]
        assert by_dom["badmx.test"].connections == 0, "a host outside the policy is not tried"

        logs = a.logs()
        assert "tlsrpt domain=enforce.test" in logs and "result=success count=1" in logs
        assert "tlsrpt domain=testing.test" in logs
        assert "domain=testing.test day=" in logs and "result=starttls-not-supported" in logs
        assert "event=mta_sts_mx_mismatch host=mx.badmx.test mode=enforce" in logs
        wc = [l for l in logs.splitlines() if "tlsrpt domain=wrongcert.test" in l]
        assert wc and "result=certificate-host-mismatch" in wc[0], wc
        nt = [l for l in logs.splitlines() if "tlsrpt domain=notls.test" in l]
        assert nt and "result=starttls-not-supported" in nt[0], nt
        # The policies were fetched once each (then cached).
        assert sorted(h for h, _ in policy.fetches) == sorted(set(h for h, _ in policy.fetches))

        # The counters are in the store: after a restart `tern tlsrpt show`
        # still has them, and --json is an RFC 8460 report.
        a.restart()
        r = a.cli("tlsrpt", "show")
        assert r.returncode == 0, r.stderr
        rows = [l.split() for l in r.stdout.splitlines()[1:-1]]
        day = time.strftime("%Y-%m-%d", time.gmtime())
        assert [day, "enforce.test", "sts", "20261206T1", "success", "1"] in rows, r.stdout
        assert [day, "testing.test", "sts", "20261206T1", "starttls-not-supported"] == \
            [x for x in rows if x[1] == "testing.test"][0][:5], r.stdout
        assert any(x[1] == "badmx.test" and x[4] == "validation-failure" for x in rows), rows
        r = a.cli("tlsrpt", "show", "--domain", "notls.test")
        assert "notls.test" in r.stdout and "enforce.test" not in r.stdout, r.stdout
        r = a.cli("tlsrpt", "show", "--json")
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout)
        assert rep["organization-name"] == "a.test"
        assert rep["contact-info"] == "postmaster@a.test"
        assert rep["date-range"] == {"start-datetime": day + "T00:00:00Z",
                                     "end-datetime": day + "T23:59:59Z"}
        assert rep["report-id"] != json.loads(a.cli("tlsrpt", "show", "--json").stdout)["report-id"]
        pol = {p["policy"]["policy-domain"]: p for p in rep["policies"]}
        enf = pol["enforce.test"]
        assert enf["policy"]["policy-type"] == "sts"
        assert enf["policy"]["policy-string"] == [
            "version: STSv1", "mode: enforce", "mx: %s" % MX["enforce.test"][2], "max_age: 86400"]
        assert enf["summary"] == {"total-successful-session-count": 1,
                                  "total-failure-session-count": 0}
        assert enf["failure-details"] == []
        wc = pol["wrongcert.test"]
        assert wc["summary"]["total-failure-session-count"] >= 1
        assert {"result-type": "certificate-host-mismatch",
                "failed-session-count": wc["summary"]["total-failure-session-count"]} \
            in wc["failure-details"], wc
        r = a.cli("tlsrpt", "show", "--json", "--day", "2000-01-01")
        assert json.loads(r.stdout)["policies"] == []

        # The policy cache is in the store too: after the restart a new
        # message to enforce.test uses the stored policy, no second fetch.
        assert "event=mta_sts_cache_loaded policies=5" in a.logs()
        fetched = len(policy.fetches)
        msg = b"From: alice@a.test\r\nTo: carol@enforce.test\r\nSubject: again\r\n\r\nhi\r\n"
        submit(a, "alice@a.test", PW, ["carol@enforce.test"], msg)
        wait_for(lambda: len(by_dom["enforce.test"].messages) == 2, timeout=20,
                 what="second enforce delivery")
        assert by_dom["enforce.test"].messages[1][0] is True, "delivered over TLS"
        assert len(policy.fetches) == fetched, policy.fetches
    except Exception:
        if a:
            print("---- A (relay lines) ----\n" + "\n".join(
                l for l in a.logs().splitlines() if " queue " in l or "tlsrpt" in l)[-20000:])
        raise
    finally:
        for s in sinks:
            s.stop()
        if policy:
            policy.stop()
        if dns:
            dns.stop()
        subprocess.run(["rm", "-rf", d])
