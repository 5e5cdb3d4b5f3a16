"""`tern dmarc check` against dnsmasq: DMARC evaluated by the real c-ares
path (net/dns_query.c) on the loop, for policy records served over UDP:
the Author Domain's own record, a parent's with sp= and np= (existence
asked with A/AAAA/MX), a record split into two TXT strings (joined, RFC
9989 4.5), two records at one name (none), a PSD record with psd=y, relaxed
and strict alignment, and an unreachable zone (temperror)."""
import os
import subprocess
import tempfile

import pytest

from conftest import TERN_BIN
from mailauth_helpers import check_cli
from relayutil import dns_cleanup, DNSMASQ, Dns  # noqa: F401 (dns_cleanup is an autouse fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

RECORDS = [
    "--txt-record=_dmarc.example.test,v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s",
    "--host-record=sub.example.test,127.0.0.5",
    # dnsmasq makes each comma a string boundary: "v=DMARC1; p=quar" "antine"
    "--txt-record=_dmarc.split.test,v=DMARC1; p=quar,antine",
    "--txt-record=_dmarc.two.test,v=DMARC1; p=reject",
    "--txt-record=_dmarc.two.test,v=DMARC1; p=none",
    "--txt-record=_dmarc.bank.test,v=DMARC1; p=none; sp=quarantine; psd=y",
    "--host-record=small.bank.test,127.0.0.6",
    "--txt-record=_dmarc.testing.test,v=DMARC1; p=reject; t=y",
]


@pytest.fixture
def dns():
    d = tempfile.mkdtemp(prefix="tern-dmarc-dns-")
    return Dns(RECORDS, d)


def dmarc(dns, *args):
    out = check_cli(dns, "dmarc", "check", *args)
    fields = dict(f.split("=", 1) for f in out.split(" ") if "=" in f and not f.startswith("problem"))
    return fields, out


@pytest.mark.parametrize("args,want", [
    (["--from", "a@example.test", "--dkim", "pass:example.test"],
     {"dmarc": "pass", "dkim_aligned": "yes", "policy": "reject", "policy_domain": "example.test"}),
    (["--from", "example.test", "--spf", "pass:bounce.example.test"],
     {"dmarc": "pass", "spf_aligned": "yes", "org_domain": "example.test"}),
    (["--from", "example.test", "--dkim", "pass:mail.example.test"],   # adkim=s
     {"dmarc": "fail", "dkim_aligned": "no", "disposition": "reject"}),
    (["--from", "example.test", "--spf", "pass:other.test", "--dkim", "fail:example.test"],
     {"dmarc": "fail", "disposition": "reject"}),
    (["--from", "sub.example.test"],
     {"dmarc": "fail", "policy": "quarantine", "disposition": "quarantine",
      "policy_domain": "example.test"}),
    (["--from", "nosuch.example.test"],
     {"dmarc": "fail", "policy": "reject", "disposition": "reject"}),
    (["--from", "split.test"],
     {"dmarc": "fail", "policy": "quarantine", "disposition": "quarantine"}),
    (["--from", "two.test", "--spf", "pass:two.test"],
     {"dmarc": "none", "policy_domain": ""}),
    (["--from", "small.bank.test"],
     {"dmarc": "fail", "policy_domain": "bank.test", "org_domain": "small.bank.test",
      "policy": "quarantine"}),
    (["--from", "testing.test"],
     {"dmarc": "fail", "testing": "yes", "policy": "reject", "disposition": "quarantine"}),
    (["--from", "nothing.test"],
     {"dmarc": "none"}),
    (["--from", "x.fail.test", "--spf", "pass:x.fail.test"],
     {"dmarc": "temperror", "disposition": "none"}),
])
def test_dmarc_results(dns, args, want):
    fields, out = dmarc(dns, *args)
    for k, v in want.items():
        assert fields.get(k) == v, (k, out)


def test_usage_errors():
    for args in (["check"], ["check", "--from"], ["check", "--from", "a.test", "--spf", "maybe:a.test"],
                 ["check", "--from", "a.test", "--dkim", "softfail:a.test"], ["verify", "--from", "a.test"]):
        r = subprocess.run([TERN_BIN, "dmarc", *args], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "usage: tern dmarc" in r.stderr, (args, r.stderr)
