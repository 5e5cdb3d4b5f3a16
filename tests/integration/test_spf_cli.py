"""`tern spf check IP MAIL_FROM HELO` against dnsmasq: SPF evaluated by the
real c-ares path (net/dns_query.c) on the loop, for records served over
UDP the way the mx listener will meet them: a record split into two TXT
strings, include, a, mx, ptr, exists with a macro, exp= with macros,
redirect, a missing domain (none), an unreachable zone (temperror) and a
lookup loop (permerror)."""
import os
import subprocess
import tempfile

import pytest

from conftest import TERN_BIN
from mailauth_helpers import check_cli
from relayutil import dns_cleanup, DNSMASQ, Dns  # noqa: F401 (dns_cleanup is an autouse fixture)

pytestmark = pytest.mark.skipif(not os.path.exists(DNSMASQ), reason="dnsmasq not installed")

RECORDS = [
    "--txt-record=example.test,v=spf1 mx a:host.example.test ,include:inc.test -all exp=why.example.test",
    "--txt-record=why.example.test,%{i} is not a mail server of %{d} (asked by %{r})",
    "--mx-host=example.test,mx.example.test,10",
    "--host-record=mx.example.test,127.0.0.30",
    "--host-record=host.example.test,127.0.0.20",
    "--txt-record=inc.test,v=spf1 exists:%{ir}.allow.test ~all",
    "--host-record=99.0.0.127.allow.test,127.0.0.2",
    "--txt-record=helo.test,v=spf1 ptr:host.example.test -all",
    "--ptr-record=20.0.0.127.in-addr.arpa,host.example.test",
    "--txt-record=redir.test,v=spf1 redirect=example.test",
    "--txt-record=loop.test,v=spf1 include:loop.test -all",
]


@pytest.fixture
def dns():
    d = tempfile.mkdtemp(prefix="tern-spf-dns-")
    return Dns(RECORDS, d)


def spf(dns, ip, mail_from, helo="helo.test"):
    return check_cli(dns, "spf", "check", ip, mail_from, helo)


@pytest.mark.parametrize("ip,mail_from,result", [
    ("127.0.0.30", "a@example.test", "pass"),      # mx
    ("127.0.0.20", "a@example.test", "pass"),      # a:, after joining the two strings
    ("127.0.0.99", "a@example.test", "pass"),      # include: + exists:%{ir}
    ("127.0.0.30", "a@redir.test", "pass"),        # redirect=
    ("127.0.0.20", "", "pass"),                    # HELO identity, ptr:
    ("127.0.0.21", "", "fail"),
    ("127.0.0.20", "a@missing.test", "none"),
    ("127.0.0.20", "a@x.fail.test", "temperror"),
    ("127.0.0.20", "a@loop.test", "permerror"),
])
def test_spf_results(dns, ip, mail_from, result):
    out = spf(dns, ip, mail_from)
    assert out.startswith("spf=%s " % result), out


def test_fail_explanation(dns):
    out = spf(dns, "198.51.100.7", "someone@example.test")
    assert out.startswith("spf=fail identity=mailfrom domain=example.test sender=someone@example.test"), out
    assert 'explanation="198.51.100.7 is not a mail server of example.test (asked by ' in out, out


def test_usage_errors():
    r = subprocess.run([TERN_BIN, "spf", "check", "not-an-ip", "a@b.test", "h.test"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "not an IPv4 or IPv6 address" in r.stderr
