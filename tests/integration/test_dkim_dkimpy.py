"""DKIM round trip with dkimpy (Debian python3-dkim), no DNS.

tern's signer and verifier (mailauth/dkim.h) run through the test program
dkim_tool (tests/tools/dkim_tool.c), the key record coming from a file.
dkimpy gets the same record from its dnsfunc. Both directions, both
algorithms, every canonicalization; a tampered body or signed header
fails, an added unsigned header passes, an added over-signed header fails.
The keys are dkimpy's own test keys, from $TERN_SHARED/testdata/dkim.
"""
import base64
import os
import subprocess

import pytest

from conftest import SHARED, TERN_BIN

dkim = pytest.importorskip("dkim", reason="python3-dkim (dkimpy) is not installed")
pytest.importorskip("nacl", reason="python3-nacl (dkimpy's ed25519) is not installed")

TOOL = os.environ.get("TERN_DKIM_TOOL") or os.path.join(os.path.dirname(TERN_BIN), "dkim_tool")
VEC = os.path.join(SHARED, "testdata", "dkim", "dkimpy")

KEYS = {  # algorithm: (private key file, key record file)
    "rsa-sha256": ("test.private", "test.txt"),
    "ed25519-sha256": ("ed25519test.key", "ed25519test.dns"),
}
CANONS = ["relaxed/relaxed", "simple/simple", "relaxed/simple", "simple/relaxed"]

MESSAGE = (b"From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n"
           b"Subject: round trip\r\nDate: Sun, 6 Dec 2026 18:00:00 +0000\r\n"
           b"Message-ID: <rt@example.com>\r\nX-Mailer: test\r\n\r\n"
           b"Hello  there, \r\n\r\nwith a long line " + b"x" * 200 + b"\r\n\r\n\r\n")


def need_vectors():
    if not os.path.exists(os.path.join(VEC, "test.private")):
        pytest.skip(f"SKIPPED: dkim dkimpy round trip: {VEC} not found")
    if not os.path.exists(TOOL):
        pytest.skip(f"{TOOL} not built")


def record(alg):
    with open(os.path.join(VEC, KEYS[alg][1]), "rb") as f:
        return f.read().strip()


def tern_sign(alg, canon, msg=MESSAGE):
    out = subprocess.run([TOOL, "sign", "--key", os.path.join(VEC, KEYS[alg][0]), "--alg", alg,
                          "--domain", "example.com", "--selector", "test", "--canon", canon],
                         input=msg, capture_output=True, check=True)
    return out.stdout


def tern_verify(alg, msg, tmp_path):
    dns = tmp_path / "key.dns"
    dns.write_bytes(b"test._domainkey.example.com: " + record(alg) + b"\n")
    out = subprocess.run([TOOL, "verify", "--dns", str(dns)], input=msg, capture_output=True)
    return out.stdout.decode().splitlines()


def dkimpy_verify(alg, msg):
    return dkim.verify(msg, dnsfunc=lambda name, timeout=5: record(alg))


def dkimpy_sign(alg, canon, msg=MESSAGE):
    with open(os.path.join(VEC, KEYS[alg][0]), "rb") as f:
        key = f.read().strip()
    h, b = canon.split("/")
    sig = dkim.sign(msg, b"test", b"example.com", key, canonicalize=(h.encode(), b.encode()),
                    signature_algorithm=alg.encode(),
                    include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return sig + msg


@pytest.mark.parametrize("alg", sorted(KEYS))
@pytest.mark.parametrize("canon", CANONS)
def test_tern_signs_dkimpy_verifies(alg, canon):
    need_vectors()
    signed = tern_sign(alg, canon)
    assert signed.startswith(b"DKIM-Signature: v=1; a=" + alg.encode())
    assert all(len(line) <= 78 for line in signed.split(b"\r\n\r\n")[0].split(b"\r\n")[:6])
    assert dkimpy_verify(alg, signed)


@pytest.mark.parametrize("alg", sorted(KEYS))
@pytest.mark.parametrize("canon", CANONS)
def test_dkimpy_signs_tern_verifies(alg, canon, tmp_path):
    need_vectors()
    signed = dkimpy_sign(alg, canon)
    lines = tern_verify(alg, signed, tmp_path)
    assert lines and lines[0].startswith("pass d=example.com s=test"), lines


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_tampering(alg, tmp_path):
    need_vectors()
    ours = tern_sign(alg, "relaxed/relaxed")
    theirs = dkimpy_sign(alg, "relaxed/relaxed")
    edits = {  # what: (from, to, still valid)
        "body": (b"Hello  there", b"Hello where", False),
        "signed header": (b"Subject: round trip", b"Subject: round trap", False),
        "added unsigned header": (b"X-Mailer: test", b"X-Added: 1\r\nX-Mailer: test", True),
    }
    for what, (a, b, ok) in edits.items():
        assert dkimpy_verify(alg, ours.replace(a, b, 1)) is ok, f"dkimpy, tern's signature: {what}"
        lines = tern_verify(alg, theirs.replace(a, b, 1), tmp_path)
        assert lines[0].startswith("pass" if ok else "fail"), (what, lines)
    # over-signing: an added To (or a Subject, a From...) breaks tern's signature
    for field in (b"To: eve@example.org", b"Subject: buy now", b"From: eve@example.org"):
        added = ours.replace(b"X-Mailer: test", field + b"\r\nX-Mailer: test", 1)
        assert not dkimpy_verify(alg, added), field
        assert tern_verify(alg, added, tmp_path)[0].startswith("fail"), field


def test_dual_signature(tmp_path):
    """RSA and Ed25519 on one message (RFC 8463 section 6): two calls."""
    need_vectors()
    both = tern_sign("ed25519-sha256", "relaxed/relaxed", tern_sign("rsa-sha256", "relaxed/relaxed"))
    dns = tmp_path / "both.dns"
    dns.write_bytes(b"test._domainkey.example.com: " + record("ed25519-sha256") + b"\n" +
                    b"test._domainkey.example.com: " + record("rsa-sha256") + b"\n")
    out = subprocess.run([TOOL, "verify", "--dns", str(dns)], input=both, capture_output=True)
    lines = out.stdout.decode().splitlines()
    assert len(lines) == 2 and all(line.startswith("pass") for line in lines), lines
    # dkimpy checks the first signature (the Ed25519 one) with the record for its key type
    assert dkim.verify(both, dnsfunc=lambda name, timeout=5: record("ed25519-sha256"))


def test_short_rsa_key_refused(tmp_path):
    """RFC 8301: a signature by an RSA key under 1024 bits is not valid,
    though dkimpy makes one and the signature itself is good."""
    need_vectors()
    key = tmp_path / "rsa512.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(key), "512"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    rec = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    signed = dkim.sign(MESSAGE, b"test", b"example.com", key.read_bytes(),
                       include_headers=[b"from", b"to", b"subject"])
    signed += MESSAGE
    dns = tmp_path / "short.dns"
    dns.write_bytes(b"test._domainkey.example.com: " + rec + b"\n")
    out = subprocess.run([TOOL, "verify", "--dns", str(dns)], input=signed, capture_output=True)
    lines = out.stdout.decode().splitlines()
    assert lines and lines[0].startswith("permerror") and "1024" in lines[0], lines
