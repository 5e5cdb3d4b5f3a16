"""ARC round trip with dkimpy (Debian python3-dkim, dkim.arc_sign/arc_verify), no DNS.

tern's sealer and verifier (mailauth/arc.h) run through the test program
arc_tool (tests/tools/arc_tool.c), the key record coming from a file;
dkimpy gets the same record from its dnsfunc. Both directions, and chains
of two sets made by one side and then the other; a changed body fails on
both sides. The key is dkimpy's own RSA test key, from
$TERN_SHARED/testdata/dkim/dkimpy.
"""
import os
import subprocess

import pytest

from conftest import SHARED, TERN_BIN

dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")
pytest.importorskip("authres", reason="python3-authres (dkimpy's ARC signing) is not installed")

TOOL = os.environ.get("TERN_ARC_TOOL") or os.path.join(os.path.dirname(TERN_BIN), "arc_tool")
VEC = os.path.join(SHARED, "testdata", "dkim", "dkimpy")
SRV = b"lists.example.com"

MESSAGE = (b"From: Alice <alice@example.org>\r\nTo: list@example.com\r\n"
           b"Subject: arc round trip\r\nDate: Sun, 6 Dec 2026 18:00:00 +0000\r\n"
           b"Message-ID: <arc@example.org>\r\nMIME-Version: 1.0\r\n\r\n"
           b"Hello  there, \r\n\r\nforwarded.\r\n\r\n")


def need_vectors():
    if not os.path.exists(os.path.join(VEC, "test.private")):
        pytest.skip(f"SKIPPED: arc dkimpy round trip: {VEC} not found")
    if not os.path.exists(TOOL):
        pytest.skip(f"{TOOL} not built")


def record():
    with open(os.path.join(VEC, "test.txt"), "rb") as f:
        return f.read().strip()


def dnsfunc(name, timeout=5):
    return record() if name == b"test._domainkey.example.com." or \
        name == b"test._domainkey.example.com" else None


def dns_file(tmp_path):
    p = tmp_path / "key.dns"
    p.write_bytes(b"test._domainkey.example.com: " + record() + b"\n")
    return str(p)


def tern_seal(msg, tmp_path, authres, chain=None):
    args = [TOOL, "seal", "--key", os.path.join(VEC, "test.private"), "--alg", "rsa-sha256",
            "--domain", "example.com", "--selector", "test", "--authres", authres,
            "--dns", dns_file(tmp_path)]
    if chain:
        args += ["--chain", chain]
    out = subprocess.run(args, input=msg, capture_output=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def tern_verify(msg, tmp_path):
    out = subprocess.run([TOOL, "verify", "--dns", dns_file(tmp_path)], input=msg,
                         capture_output=True)
    return out.stdout.decode().strip()


def dkimpy_seal(msg, arc_result):
    """dkimpy seals what its A-R says: add ours on top, as a receiver would."""
    ar = b"Authentication-Results: " + SRV + b"; arc=" + arc_result + \
        b"; spf=pass smtp.mailfrom=alice@example.org\r\n"
    with open(os.path.join(VEC, "test.private"), "rb") as f:
        key = f.read()
    headers = dkim.arc_sign(ar + msg, b"test", b"example.com", key, SRV,
                            include_headers=[b"from", b"to", b"subject", b"date"])
    assert headers, "dkimpy did not seal"
    return b"".join(headers) + msg


def dkimpy_verify(msg):
    cv, _results, why = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    return cv, why


def test_tern_seals_dkimpy_verifies(tmp_path):
    need_vectors()
    sealed = tern_seal(MESSAGE, tmp_path, "lists.example.com; spf=pass smtp.mailfrom=a@b")
    assert sealed.startswith(b"ARC-Seal: ")
    cv, why = dkimpy_verify(sealed)
    assert cv == dkim.CV_Pass, why
    assert tern_verify(sealed, tmp_path).startswith("pass n=1 oldest-pass=1")
    cv, why = dkimpy_verify(sealed.replace(b"forwarded.", b"forwarded!"))
    assert cv == dkim.CV_Fail, why


def test_dkimpy_seals_tern_verifies(tmp_path):
    need_vectors()
    sealed = dkimpy_seal(MESSAGE, b"none")
    assert dkimpy_verify(sealed)[0] == dkim.CV_Pass
    assert tern_verify(sealed, tmp_path).startswith("pass n=1 oldest-pass=1")
    assert tern_verify(sealed.replace(b"forwarded.", b"forwarded!"), tmp_path).startswith("fail")


def test_chain_tern_then_dkimpy(tmp_path):
    need_vectors()
    one = tern_seal(MESSAGE, tmp_path, "first.example.com; dkim=pass header.d=example.org")
    two = dkimpy_seal(one, b"pass")
    assert dkimpy_verify(two)[0] == dkim.CV_Pass
    assert tern_verify(two, tmp_path).startswith("pass n=2")


def test_chain_dkimpy_then_tern(tmp_path):
    need_vectors()
    one = dkimpy_seal(MESSAGE, b"none")
    assert tern_verify(one, tmp_path).startswith("pass n=1")
    # the list verified the chain, then rewrites the subject: AMS(1) breaks, the chain holds
    one = one.replace(b"Subject: arc round trip", b"Subject: [list] arc round trip")
    two = tern_seal(one, tmp_path, "lists.example.com; arc=pass", chain="pass")
    assert b"cv=pass" in two.split(b"ARC-Message-Signature")[0]
    cv, why = dkimpy_verify(two)
    assert cv == dkim.CV_Pass, why
    assert tern_verify(two, tmp_path).startswith("pass n=2 oldest-pass=2")


def test_failed_chain_gets_no_new_set(tmp_path):
    need_vectors()
    one = dkimpy_seal(MESSAGE, b"none")
    broken = one.replace(b"forwarded.", b"forwarded!")
    assert tern_verify(broken, tmp_path).startswith("fail n=1")
    two = tern_seal(broken, tmp_path, "lists.example.com; arc=fail")
    assert b"cv=fail" in two.split(b"ARC-Message-Signature")[0]
    cv, _ = dkimpy_verify(two)
    assert cv != dkim.CV_Pass
    args = [TOOL, "seal", "--key", os.path.join(VEC, "test.private"), "--domain", "example.com",
            "--selector", "test", "--authres", "x.example; arc=fail", "--chain", "fail"]
    assert subprocess.run(args, input=two, capture_output=True).returncode == 3
