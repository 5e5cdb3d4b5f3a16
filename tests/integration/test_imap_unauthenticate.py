"""UNAUTHENTICATE (RFC 8437) against the real binary: advertised after
login only; back to not authenticated with the selected mailbox left
without an expunge, ENABLEd extensions and $ reset; a pipelined
re-authentication as another user in one round trip (SASL-IR); BAD in
the wrong state or with arguments; BYE under COMPRESS."""
import base64
import zlib

from test_imap_messages import Raw, box  # noqa: F401
from test_imap_objectid import append_raw, m


def test_unauthenticate(box):
    box.add_user("dave@example.test", "dave-secret-1")
    r = Raw(box)
    _, t = r.cmd("c0", "CAPABILITY")
    assert b"UNAUTHENTICATE" not in r.greeting
    r.login()
    out, _ = r.cmd("c1", "CAPABILITY")
    assert b" UNAUTHENTICATE" in out[0]
    append_raw(r, "a", m("u1@x", "one"))
    out, t = r.cmd("e", "ENABLE CONDSTORE UTF8=ACCEPT")
    assert b"ENABLED" in out[0], out
    r.cmd("s", "SELECT INBOX")
    r.cmd("st", "STORE 1 +FLAGS.SILENT (\\Deleted)")
    r.cmd("sr", "SEARCH RETURN (SAVE) ALL")
    out, t = r.cmd("u", "UNAUTHENTICATE")
    assert t == b"u OK UNAUTHENTICATE completed", t
    assert out == [], out  # no EXPUNGE: the mailbox was left, not closed
    # not authenticated now
    _, t = r.cmd("n1", "SELECT INBOX")
    assert t.startswith(b"n1 BAD"), t
    _, t = r.cmd("n2", "UNAUTHENTICATE")
    assert t.startswith(b"n2 BAD"), t
    out, _ = r.cmd("n3", "CAPABILITY")
    assert b"UNAUTHENTICATE" not in out[0] and b"AUTH=PLAIN" in out[0]
    # pipelined: UNAUTHENTICATE is not needed here, but AUTHENTICATE as
    # another user in the same round trip is (SASL-IR)
    ir = base64.b64encode(b"\0dave@example.test\0dave-secret-1").decode()
    r.send("p1 AUTHENTICATE PLAIN %s\r\np2 SELECT INBOX\r\n" % ir)
    lines = [r.line() for _ in range(2)]
    while not lines[-1].startswith(b"p2 "):
        lines.append(r.line())
    assert lines[0].startswith(b"p1 OK"), lines
    assert lines[-1].startswith(b"p2 OK"), lines
    assert b"* 0 EXISTS" in lines  # dave's INBOX, not carol's
    # the message is still there, \Deleted, for carol
    out, t = r.cmd("u2", "UNAUTHENTICATE")
    assert t.startswith(b"u2 OK")
    r.login()
    out, _ = r.cmd("s2", "SELECT INBOX")
    assert b"* 1 EXISTS" in out
    # CONDSTORE is off again: no MODSEQ unless asked; $ is empty
    out, _ = r.cmd("f", "FETCH 1 (FLAGS)")
    assert b"MODSEQ" not in out[0] and b"\\Deleted" in out[0], out
    out, t = r.cmd("d", "FETCH $ (UID)")
    assert out == [] and t.startswith(b"d OK"), (out, t)
    _, t = r.cmd("bad", "UNAUTHENTICATE now")
    assert t.startswith(b"bad BAD"), t


def test_unauthenticate_under_compress_says_bye(box):
    r = Raw(box)
    r.login()
    _, t = r.cmd("z", "COMPRESS DEFLATE")
    assert t.startswith(b"z OK"), t
    comp = zlib.compressobj(wbits=-15)
    dec = zlib.decompressobj(wbits=-15)
    r.sock.sendall(comp.compress(b"u UNAUTHENTICATE\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
    text = b""
    while True:
        c = r.sock.recv(65536)
        if not c:
            break
        text += dec.decompress(c)
    assert text.startswith(b"* BYE "), text
    assert b"u OK" not in text and b"u NO" not in text
