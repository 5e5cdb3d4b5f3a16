"""Outbound DANE (RFC 7672), end to end.

The AD bit needs a validating resolver; instead a tiny DNS server here
answers MX, A and TLSA itself and sets AD where the test says so (what a
local unbound would do for a signed zone). Each MX is a Python SMTP sink
(test_mta_sts.TlsSink) with STARTTLS and a self-signed certificate:

  good.test  TLSA 3 1 1 of the sink's key, AD set   -> delivered over TLS
  bad.test   TLSA 3 1 1 of another hash, AD set     -> deferred, nothing sent in clear
  noad.test  TLSA 3 1 1 of another hash, AD clear   -> TLSA ignored, delivered
  fails.test TLSA lookup SERVFAIL, zone signed (AD) -> host not used, deferred (RFC 7672 2.2)
  failu.test TLSA lookup SERVFAIL, zone unsigned    -> taken for no TLSA, delivered
"""
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import tempfile
import threading
import time

from relayutil import deferred_rows, submit_to_each, wait_for
from test_mta_sts import TlsSink

PW = "dane-test-password-1"
MX = {  # domain -> (MX address, TLSA hash right, AD bit, TLSA lookup fails)
    "good.test": ("127.0.0.21", True, True, False),
    "bad.test": ("127.0.0.22", False, True, False),
    "noad.test": ("127.0.0.23", False, False, False),
    "fails.test": ("127.0.0.24", True, True, True),
    "failu.test": ("127.0.0.25", True, False, True),
}


class TinyDns:
    """UDP DNS on 127.0.0.1: MX, A and TLSA from `zone`; AD set for names in
    `secure`; SERVFAIL for names in `servfail`; anything else NXDOMAIN."""

    def __init__(self, zone, secure, servfail=()):
        self.zone, self.secure, self.servfail = zone, secure, set(servfail)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.tlsa_queries = []
        threading.Thread(target=self.serve, daemon=True).start()

    @staticmethod
    def name_bytes(name):
        return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"

    def serve(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            try:
                self.sock.sendto(self.answer(q), peer)
            except Exception:
                pass

    def answer(self, q):
        qid, flags = struct.unpack(">HH", q[:4])
        o, labels = 12, []
        while q[o]:
            labels.append(q[o + 1:o + 1 + q[o]].decode().lower())
            o += 1 + q[o]
        name, qtype = ".".join(labels), struct.unpack(">H", q[o + 1:o + 3])[0]
        question = q[12:o + 5]
        if qtype == 52:
            self.tlsa_queries.append((name, bool(q[3] & 0x20)))
        rrs = [r for (n, t, r) in self.zone if n == name and t == qtype]
        known = any(n == name for (n, _, _) in self.zone)
        ad = 0x20 if any(name.endswith(s) for s in self.secure) else 0
        rcode = 0 if known else 3
        if name in self.servfail:
            return struct.pack(">HHHHHH", qid, 0x8182, 1, 0, 0, 0) + question
        hdr = struct.pack(">HHHHHH", qid, 0x8180 | ad | rcode, 1, len(rrs), 0, 0)
        body = b""
        for rdata in rrs:
            body += b"\xc0\x0c" + struct.pack(">HHIH", qtype, 1, 60, len(rdata)) + rdata
        return hdr + question + body

    def stop(self):
        self.sock.close()


def openssl(*args, cwd, inp=None):
    return subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                          input=inp).stdout


def test_dane_match_mismatch_and_unauthenticated(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-dane-")
    sinks, dns, a = {}, None, None
    try:
        # One self-signed certificate for all sinks, for a name no one checks.
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-subj", "/CN=not-the-mx.invalid", "-days", "2", "-keyout", "mx.key", "-out",
                "mx.crt", cwd=d)
        pub = openssl("x509", "-in", "mx.crt", "-noout", "-pubkey", cwd=d)
        spki = openssl("pkey", "-pubin", "-outform", "DER", cwd=d, inp=pub)
        right = hashlib.sha256(spki).digest()
        wrong = hashlib.sha256(b"not the key").digest()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(d, "mx.crt"), os.path.join(d, "mx.key"))

        zone, secure, servfail = [], [], []
        for dom, (ip, ok, ad, fails) in MX.items():
            mx = "mx." + dom
            zone += [(dom, 15, struct.pack(">H", 10) + TinyDns.name_bytes(mx)),
                     (mx, 1, socket.inet_aton(ip)),
                     ("_25._tcp." + mx, 52, b"\x03\x01\x01" + (right if ok else wrong))]
            if ad:
                secure.append(dom)
            if fails:
                servfail.append("_25._tcp." + mx)
        dns = TinyDns(zone, secure, servfail)
        port = None
        for _ in range(50):
            with socket.socket() as s:
                s.bind((MX["good.test"][0], 0))
                port = s.getsockname()[1]
            try:
                for dom, (ip, _, _, _) in MX.items():
                    sinks[dom] = TlsSink(ip, port, ctx)
                break
            except OSError:
                for s in sinks.values():
                    s.stop()
                sinks = {}
        q = {"scan_interval": 1, "retry_first": 1, "retry_max": 2,
             "dns_servers": '"127.0.0.1:%d"' % dns.port, "remote_port": port, "dns_timeout": 1,
             "connect_timeout": 5, "mta_sts": "false"}
        a = tern_factory(domain="a.test", host="127.0.0.2",
                         extra_config="[queue]\n" + "".join("%s = %s\n" % kv for kv in q.items()))
        a.add_user("alice@a.test", PW)
        time.sleep(0.5)
        submit_to_each(a, "alice@a.test", PW, MX, "dane")

        wait_for(lambda: sinks["good.test"].messages, timeout=20, what="good.test delivery")
        assert sinks["good.test"].messages[0][0] is True, "delivered over TLS"
        wait_for(lambda: sinks["noad.test"].messages, timeout=20, what="noad.test delivery")

        rows = wait_for(lambda: deferred_rows(a, "bob@bad.test"), timeout=20,
                        what="bad.test deferral")
        assert sinks["bad.test"].messages == [], "nothing delivered, in clear or not"
        assert "DANE" in rows[0][3], rows
        assert all(ad for _, ad in dns.tlsa_queries), "TLSA asked with the AD bit"
        logs = a.logs()
        assert "event=dane host=mx.bad.test result=fail" in logs
        assert "event=dane_tlsa host=mx.good.test records=1 usable=1" in logs
        bad = [l for l in logs.splitlines() if "tlsrpt domain=bad.test" in l]
        assert bad and "result=tlsa-invalid" in bad[0], bad
        assert any("tlsrpt domain=good.test" in l and "result=success" in l
                   for l in logs.splitlines())
        assert "tlsrpt domain=noad.test" not in logs

        # a failed TLSA lookup: unsigned zone -> no TLSA, delivered; signed
        # zone -> the host is not used (RFC 7672 2.2)
        wait_for(lambda: sinks["failu.test"].messages, timeout=20, what="failu.test delivery")
        rows = wait_for(lambda: deferred_rows(a, "bob@fails.test"), timeout=20,
                        what="fails.test deferral")
        assert sinks["fails.test"].messages == [], "a signed host whose TLSA failed is not used"
        assert "4.7.5 TLSA lookup failed for mx.fails.test" in rows[0][3], rows
        logs = a.logs()
        assert "host=mx.fails.test result=temporary_failure zone=signed action=skip_host" in logs
        assert "host=mx.failu.test result=temporary_failure zone=unsigned note=ignored" in logs
    except Exception:
        if a:
            print("---- A (relay lines) ----\n" + "\n".join(
                l for l in a.logs().splitlines() if " queue " in l or "tlsrpt" in l)[-20000:])
        raise
    finally:
        for s in sinks.values():
            s.stop()
        if dns:
            dns.stop()
        subprocess.run(["rm", "-rf", d])
