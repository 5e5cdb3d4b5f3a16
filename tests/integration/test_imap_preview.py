"""PREVIEW (RFC 8970) against the real binary: the RFC's examples, the
text chosen (plain before HTML, quotes and signature dropped, 200
characters at most), PREVIEW (LAZY) giving NIL for a message the indexer
has not reached and the text once it has, "" (never NIL) without LAZY,
and the parse errors."""
import re
import time

from test_imap_messages import Raw, box, login  # noqa: F401
from test_imap_objectid import append_raw

PLAIN = (b"From: a@example.org\r\nSubject: p\r\n\r\nPreview text!\r\n\r\n"
         b"> quoted\r\n-- \r\nsig\r\n")
HTML = (b"From: a@example.org\r\nSubject: h\r\nContent-Type: text/html\r\n\r\n"
        b"<p>Hello <b>HTML</b></p>\r\n")
IMAGE = (b"From: a@example.org\r\nSubject: i\r\nContent-Type: image/png\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n")
LONG = (b"From: a@example.org\r\nSubject: l\r\n\r\n" + b"Lorem ipsum dolor sit amet. " * 40
        + b"\r\n")


def preview_of(line):
    m = re.search(rb'PREVIEW ("(?:[^"\\]|\\.)*"|NIL|\{\d+\}\r\n)', line)
    assert m, line
    v = m.group(1)
    if v == b"NIL":
        return None
    if v.startswith(b"{"):
        n = int(v[1:v.index(b"}")])
        return line[m.end():m.end() + n]
    return v[1:-1]


def test_preview_fetch(box):
    r = Raw(box)
    r.login()
    out, _ = r.cmd("c", "CAPABILITY")
    assert b" PREVIEW" in out[0]
    for i, d in enumerate((PLAIN, HTML, IMAGE, LONG)):
        append_raw(r, "a%d" % i, d)
    r.cmd("s", "SELECT INBOX")
    out, t = r.cmd("A1", "FETCH 1 (PREVIEW)")
    assert out == [b'* 1 FETCH (PREVIEW "Preview text!")'], out
    assert t.startswith(b"A1 OK")
    out, _ = r.cmd("A2", "FETCH 2:4 (RFC822.SIZE PREVIEW)")
    assert preview_of(out[0]) == b"Hello HTML"
    assert preview_of(out[1]) == b""  # nothing to preview: "" (RFC 8970 §3.2)
    p = preview_of(out[2])
    assert p.startswith(b"Lorem ipsum dolor sit amet. Lorem") and len(p.decode()) == 200
    out, _ = r.cmd("A3", "UID FETCH 1 PREVIEW")
    assert preview_of(out[0]) == b"Preview text!"


def test_preview_lazy(box):
    """Before the indexer's idle run a LAZY preview may be NIL; without
    LAZY it is always there; once indexed, LAZY gives it too."""
    r = Raw(box)
    r.login()
    append_raw(r, "a", PLAIN)
    r.cmd("s", "SELECT INBOX")
    out, t = r.cmd("B1", "FETCH 1 (ENVELOPE PREVIEW (LAZY))")
    assert t.startswith(b"B1 OK"), t
    assert preview_of(out[0]) in (None, b"Preview text!")
    out, _ = r.cmd("B2", "FETCH 1 (PREVIEW)")
    assert preview_of(out[0]) == b"Preview text!"
    out, _ = r.cmd("B3", "FETCH 1 PREVIEW (LAZY)")
    assert preview_of(out[0]) in (None, b"Preview text!")
    # the writer indexes in idle time (a second after the last job or
    # client command): wait quietly, then ask again
    for _ in range(6):
        time.sleep(2)
        out, _ = r.cmd("B4", "FETCH 1 (PREVIEW (lazy) UID)")
        if preview_of(out[0]) is not None:
            break
    assert preview_of(out[0]) == b"Preview text!", out


def test_preview_errors(box):
    r = Raw(box)
    r.login()
    append_raw(r, "a", PLAIN)
    r.cmd("s", "SELECT INBOX")
    for bad in ("FETCH 1 (PREVIEW (FAST))", "FETCH 1 (PREVIEW ())", "FETCH 1 (FLAGS (LAZY))",
                "FETCH 1 ((LAZY) PREVIEW)", "FETCH 1 PREVIEW (LAZY FOO)",
                "FETCH 1 (PREVIEW LAZY)"):
        _, t = r.cmd("e", bad)
        assert t.startswith(b"e BAD"), (bad, t)
    out, t = r.cmd("o", "FETCH 1 (PREVIEW (LAZY LAZY))")
    assert t.startswith(b"o OK"), t
