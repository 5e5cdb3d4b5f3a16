"""tern's MIME parser against Python's email package, on CPython's own email
test messages (msg_*.txt).

Where the messages come from: Debian's libpython3.X-testsuite
(/usr/lib/python3.X/test/test_email/data, installed by .ci/dev), else
$TERN_SHARED/testdata/mime/cpython-email; with neither, the module is
skipped on one "SKIPPED ... test_mime_cpython:" line.

Every message is APPENDed over IMAP, then its BODYSTRUCTURE is walked beside
Python's parse of the same bytes: the part tree (count of children),
content types, multipart boundaries, transfer encodings, and, for every
leaf, the decoded content of BODY[section] against Python's
get_payload(decode=True). Where the two parsers disagree and the RFCs side
with tern, the difference is listed in DIFFERENT with the reason."""
import base64
import email
import email.policy
import glob
import imaplib
import os
import re

import pytest

from conftest import SHARED

TERN_PACKAGE_VECTORS = os.environ.get("TERN_PACKAGE_VECTORS", "1") != "0"


def corpus_dir():
    if TERN_PACKAGE_VECTORS:
        found = sorted(glob.glob("/usr/lib/python3*/test/test_email/data/msg_01.txt"))
        if found:
            return os.path.dirname(found[-1])
    d = os.path.join(SHARED, "testdata", "mime", "cpython-email")
    return d if os.path.exists(os.path.join(d, "msg_01.txt")) else None


CORPUS = corpus_dir()
if CORPUS is None:
    pytest.skip("test_mime_cpython: CPython's email test messages missing (Debian package "
                "libpython3-testsuite matching python3, or %s/testdata/mime/cpython-email)"
                % SHARED, allow_module_level=True)

# (message, section) -> why tern's answer differs from Python's.
DIFFERENT = {
    # boundary*="ansi-x3.4-1968''EeQf..." (RFC 2231 form): both split the
    # parts alike; BODYSTRUCTURE carries the parameter as the header names
    # it (boundary*), Python's get_boundary() decodes it.
    ("msg_33.txt", "TEXT"): "RFC 2231 boundary* kept as sent in BODYSTRUCTURE",
    # "--ABCDE" lines in a row: RFC 2046 §5.1.1 makes every delimiter start
    # a body part, an empty one included (7 parts); Python drops empty ones.
    ("msg_37.txt", "TEXT"): "empty body parts between delimiters are parts (RFC 2046)",
}
# Messages that Python itself reads with defects (CPython's tests of broken
# input: no start boundary, no header/body separator...) have no one right
# reading: their differences are printed, not failed.


# ---- IMAP response reading -------------------------------------------------

def parse_sexp(data):
    """IMAP's parenthesised lists: lists, bytes, None (NIL), int."""
    pos = 0

    def value():
        nonlocal pos
        while data[pos:pos + 1] == b" ":
            pos += 1
        c = data[pos:pos + 1]
        if c == b"(":
            pos += 1
            out = []
            while True:
                while data[pos:pos + 1] == b" ":
                    pos += 1
                if data[pos:pos + 1] == b")":
                    pos += 1
                    return out
                out.append(value())
        if c == b'"':
            pos += 1
            s = bytearray()
            while data[pos:pos + 1] != b'"':
                if data[pos:pos + 1] == b"\\":
                    pos += 1
                s += data[pos:pos + 1]
                pos += 1
            pos += 1
            return bytes(s)
        if c == b"{":
            end = data.index(b"}", pos)
            n = int(data[pos + 1:end])
            pos = end + 3  # "}\r\n"
            s = data[pos:pos + n]
            pos += n
            return s
        m = re.compile(rb"[^ ()]+").match(data, pos)
        pos = m.end()
        tok = m.group(0)
        if tok.upper() == b"NIL":
            return None
        return int(tok) if tok.isdigit() else tok

    return value()


def joined(fetch_data):
    """imaplib's FETCH answer (tuples around literals) as one byte string."""
    out = b""
    for piece in fetch_data:
        if isinstance(piece, tuple):
            out += piece[0] + b"\r\n" + piece[1]
        else:
            out += piece
    return out


def fetch_item(imap, uid, item):
    typ, data = imap.uid("FETCH", str(uid), "(%s)" % item)
    assert typ == "OK", data
    raw = joined(data)
    # "N (UID u ITEM value)": the list after the message number
    items = parse_sexp(raw[raw.index(b"("):])
    name = item.replace(".PEEK", "").encode()
    for i in range(0, len(items), 2):
        if isinstance(items[i], bytes) and items[i].upper().startswith(name.split(b"[")[0]):
            if b"[" in name:
                # BODY[1.2] comes back as the atom "BODY[1.2]"
                if items[i].upper() == name.upper():
                    return items[i + 1]
            else:
                return items[i + 1]
    raise AssertionError("no %s in %r" % (item, raw[:200]))


# ---- the comparison --------------------------------------------------------

def params(bs_params):
    p = {}
    for i in range(0, len(bs_params or []), 2):
        p[bs_params[i].decode().lower()] = bs_params[i + 1]
    return p


def decoded(cte, raw):
    """Python's decoding of raw part content under this transfer encoding."""
    m = email.message.Message()
    if cte:
        m["Content-Transfer-Encoding"] = cte
    m.set_payload(raw.decode("ascii", "surrogateescape"))
    return m.get_payload(decode=True)


def norm(b):
    return b.replace(b"\r\n", b"\n").rstrip(b"\n")


def compare(imap, uid, name, bs, py, section, problems):
    def differ(what):
        key = (name, section or "TEXT")
        if key not in DIFFERENT:
            problems.append("%s [%s]: %s" % (name, section or "TEXT", what))

    ctype = py.get_content_type()
    if ctype.startswith("message/") and ctype != "message/rfc822" and py.is_multipart():
        # delivery-status, external-body: Python makes a list of header
        # blocks; for IMAP they are leaf parts (RFC 3501 nests rfc822 only)
        btype = "%s/%s" % (bs[0].decode().lower(), bs[1].decode().lower()) \
            if not isinstance(bs[0], list) else "multipart"
        if btype != ctype:
            differ("type %s, Python %s" % (btype, ctype))
        return
    if isinstance(bs[0], list):  # multipart
        children = []
        while isinstance(bs[len(children)], list):
            children.append(bs[len(children)])
        subtype = bs[len(children)].decode().lower()
        if py.get_content_maintype() != "multipart" or not py.is_multipart():
            differ("tern multipart/%s, Python %s" % (subtype, ctype))
            return
        if subtype != py.get_content_subtype():
            differ("subtype %s, Python %s" % (subtype, py.get_content_subtype()))
        ext = bs[len(children) + 1] if len(bs) > len(children) + 1 else None
        boundary = params(ext).get("boundary")
        if boundary is None or boundary.decode("utf-8", "replace") != py.get_boundary():
            differ("boundary %r, Python %r" % (boundary, py.get_boundary()))
        pyparts = py.get_payload()
        if len(children) != len(pyparts):
            differ("%d parts, Python %d" % (len(children), len(pyparts)))
            return
        for i, (c, p) in enumerate(zip(children, pyparts), 1):
            compare(imap, uid, name, c, p, "%s.%d" % (section, i) if section else str(i),
                    problems)
        return
    btype = "%s/%s" % (bs[0].decode().lower(), bs[1].decode().lower())
    if btype != ctype:
        differ("type %s, Python %s" % (btype, ctype))
        return
    cte = (bs[5] or b"7bit").decode().lower()
    pycte = (py.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if cte != pycte:
        differ("encoding %s, Python %s" % (cte, pycte))
    if ctype == "message/rfc822" and py.is_multipart():
        compare_message(imap, uid, name, bs[8], py.get_payload()[0], section or "1",
                        problems)
        return
    part = section or "1"
    raw = fetch_item(imap, uid, "BODY.PEEK[%s]" % part) or b""
    got = norm(decoded(cte, raw))
    want = norm(py.get_payload(decode=True) or b"")
    if got != want:
        differ("decoded content differs: tern %r..., Python %r..." % (got[:60], want[:60]))


def compare_message(imap, uid, name, bs, py, section, problems):
    """An encapsulated message at `section`: its body's parts are
    section.1, section.2 (multipart) or section.1 (one part)."""
    if isinstance(bs[0], list):
        compare(imap, uid, name, bs, py, section, problems)
    else:
        compare(imap, uid, name, bs, py, section + ".1", problems)


def test_cpython_messages_match_python_email(tern_factory):
    tern = tern_factory(auth={"plaintext_loopback": True})
    password = open(os.path.join(tern.data_dir, "postmaster.password")).read().strip()
    files = sorted(glob.glob(os.path.join(CORPUS, "msg_*.txt")))
    assert len(files) >= 40, CORPUS
    imap = imaplib.IMAP4(tern.host, tern.port("imap"))
    imap.login("postmaster@example.test", password)
    imap.select("INBOX")
    problems = []
    checked = 0
    for uid, path in enumerate(files, 1):
        name = os.path.basename(path)
        raw = open(path, "rb").read()
        raw = re.sub(rb"\r?\n", b"\r\n", raw)
        typ, data = imap.append("INBOX", None, None, raw)
        assert typ == "OK", (name, data)
        py = email.message_from_bytes(raw, policy=email.policy.compat32)
        bs = fetch_item(imap, uid, "BODYSTRUCTURE")
        found = []
        compare(imap, uid, name, bs, py, "", found)
        if any(p.defects for p in py.walk()):
            for f in found:
                print("Python reads %s with defects; differs: %s" % (name, f))
        else:
            problems += found
        checked += 1
    imap.logout()
    print("test_mime_cpython: %d messages from %s, %d documented differences"
          % (checked, CORPUS, len(DIFFERENT)))
    assert not problems, "\n".join(problems)
