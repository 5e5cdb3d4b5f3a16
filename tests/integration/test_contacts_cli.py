"""`tern contacts import|export|list` (app/cli_contacts.c, admin/contacts.c)
and collected addresses (deliver/collect.c).

A .vcf with vCard 4.0 and 3.0 cards (folded lines, a fold inside a UTF-8
character, non-ASCII names, X- properties with parameters) goes in and
comes out card by card the same after unfolding, with a UID line added to
the card that had none; a bad file is refused whole with its line number
and a non-zero exit; importing again replaces by UID; an unknown account
fails. Mail sent over SMTP submission puts its recipients in the sender's
"Collected Addresses" book, with the display name of the To: field, but
not an address already in "Contacts"."""
import re
import smtplib

import pytest

from conftest import ssl_ctx

USER = "ann@example.test"
PASSWORD = "contacts-pw-1"

CARD_40 = (
    "BEGIN:VCARD\r\n"
    "VERSION:4.0\r\n"
    "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\n"
    "FN:Zoë Ålund-Østergård\r\n"
    "N:Ålund-Østergård;Zoë;;;\r\n"
    "EMAIL;TYPE=work;PREF=1:Zoe@Example.ORG\r\n"
    "EMAIL;TYPE=home:zoe.home@example.net\r\n"
    "NOTE:A note long enough that the writer of this file folded it, as RFC 63\r\n"
    " 50 asks for lines over seventy-five octets\\, with an escaped comma.\r\n"
    "X-ABLABEL;X-SERVICE-TYPE=\"jabber:im\":my label\r\n"
    "item1.X-PHONETIC-FIRST-NAME:zo-ee\r\n"
    "END:VCARD\r\n")
# 3.0, as older exports write it; no UID: one is made
CARD_30_NO_UID = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Jürgen Weiß\r\n"
    "N:Weiß;Jürgen;;;\r\n"
    "EMAIL;TYPE=INTERNET,PREF:juergen@example.de\r\n"
    "TEL;TYPE=CELL:+49 170 0000000\r\n"
    "X-MANAGER:Somebody Else\r\n"
    "END:VCARD\r\n")
# a fold in the middle of a two-byte character ("ő" is C5 91)
CARD_40_SPLIT_UTF8 = (
    b"BEGIN:VCARD\r\n"
    b"VERSION:4.0\r\n"
    b"UID:split-utf8-card\r\n"
    b"FN:Erd\xc5\x91s P\xc5\r\n"
    b" \x91l\r\n"
    b"END:VCARD\r\n")


def vcf_bytes(*cards):
    """Cards as the bytes of a file (str cards in UTF-8)."""
    return b"".join(c if isinstance(c, bytes) else c.encode("utf-8") for c in cards)


def cards_of(data):
    """The cards of a .vcf, each a list of unfolded content lines (bytes)."""
    data = data.replace(b"\r\n", b"\n")
    data = re.sub(b"\n[ \t]", b"", data)
    cards, cur = [], None
    for line in data.split(b"\n"):
        if line.upper() == b"BEGIN:VCARD":
            cur = [line]
        elif cur is not None:
            cur.append(line)
            if line.upper() == b"END:VCARD":
                cards.append(cur)
                cur = None
    return cards


def uid_of(card):
    for line in card:
        if line.upper().startswith(b"UID:"):
            return line[4:].decode()
    return None


@pytest.fixture
def box(tern_factory, tmp_path):
    t = tern_factory(start=False)
    t.add_domain("example.test")
    t.add_user(USER, PASSWORD)
    t.tmp = tmp_path
    return t


def write(box, name, data):
    p = box.tmp / name
    p.write_bytes(data)
    return str(p)


def export_file(box, *extra):
    out = str(box.tmp / "out.vcf")
    r = box.cli("contacts", "export", USER, out, *extra)
    assert r.returncode == 0, r.stderr
    with open(out, "rb") as f:
        return f.read(), r.stdout


def export(box, *extra):
    return export_file(box, *extra)[0]


def books(box, account=USER):
    r = box.cli("contacts", "list", account)
    assert r.returncode == 0, r.stderr
    rows = {}
    for line in r.stdout.splitlines()[1:-1]:
        ident, role, cards, modseq, name = line.split(None, 4)
        rows[name] = int(cards)
    return rows


def test_round_trip_is_lossless(box):
    src = vcf_bytes(CARD_40, CARD_30_NO_UID, CARD_40_SPLIT_UTF8)
    r = box.cli("contacts", "import", USER, write(box, "in.vcf", src))
    assert r.returncode == 0, r.stderr
    assert "3 imported, 0 replaced, 0 refused" in r.stdout
    assert books(box) == {"Contacts": 3, "Collected Addresses": 0}
    data, said = export_file(box)
    assert "3 cards exported" in said
    # every line of the file ends in CRLF, no bare LF
    assert data.count(b"\n") == data.count(b"\r\n")
    got, want = cards_of(data), cards_of(src)
    assert len(got) == 3
    # the 4.0 cards come back exactly, line for line, byte for byte
    assert got[0] == want[0]
    assert got[2] == want[2]
    assert b"FN:Erd\xc5\x91s P\xc5\x91l" in got[2]
    # the card without a UID: the same lines, and a UID line after VERSION
    uid = uid_of(got[1])
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                        r"[0-9a-f]{12}", uid), uid
    assert got[1][2] == b"UID:" + uid.encode()
    assert got[1][:2] + got[1][3:] == want[1]
    # the stored text itself is the card's own, byte for byte (raw CRLF
    # and folds kept)
    db = box.db()
    texts = [row[0] for row in db.execute(
        "SELECT vcard FROM cards WHERE deleted = 0 ORDER BY id")]
    db.close()
    assert texts[0] == CARD_40.encode("utf-8")
    assert texts[2] == vcf_bytes(CARD_40_SPLIT_UTF8)
    assert data == b"".join(texts)
    # the addresses are indexed lower-cased
    db = box.db()
    emails = sorted(r[0] for r in db.execute("SELECT email FROM card_emails"))
    db.close()
    assert emails == ["juergen@example.de", "zoe.home@example.net", "zoe@example.org"]
    # and the store is whole (SQLite 3.40's integrity_check once took
    # card_emails' account_id for NULL: schema 22 puts its key first)
    v = box.cli("verify")
    assert v.returncode == 0, v.stdout + v.stderr


def test_lf_file_comes_out_crlf(box):
    src = CARD_40.replace("\r\n", "\n").encode("utf-8")
    r = box.cli("contacts", "import", USER, write(box, "lf.vcf", src))
    assert r.returncode == 0, r.stderr
    data = export(box)
    assert data == CARD_40.encode("utf-8")


def test_reimport_replaces_by_uid(box):
    path = write(box, "in.vcf", vcf_bytes(CARD_40, CARD_40_SPLIT_UTF8))
    assert box.cli("contacts", "import", USER, path).returncode == 0
    changed = CARD_40.replace("FN:Zoë Ålund-Østergård", "FN:Zoë Renamed")
    r = box.cli("contacts", "import", USER, write(box, "again.vcf", vcf_bytes(changed)))
    assert r.returncode == 0, r.stderr
    assert "0 imported, 1 replaced, 0 refused" in r.stdout
    cards = cards_of(export(box))
    assert len(cards) == 2
    fns = sorted(line for c in cards for line in c if line.startswith(b"FN:"))
    assert "FN:Zoë Renamed".encode() in fns
    assert "FN:Zoë Ålund-Østergård".encode() not in fns
    # the same href: the card was replaced, not added
    db = box.db()
    rows = db.execute("SELECT href, deleted FROM cards WHERE uid = ?",
                      ("urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",)).fetchall()
    db.close()
    assert rows == [("4fbe8971-0bc3-424c-9c26-36c3e1eff6b1.vcf", 0)]


@pytest.mark.parametrize("bad, why", [
    (b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:No end\r\n", r"line \d+: "),
    (b"this is not a vCard at all\r\n", r"line 1: "),
    (b"", r"no vCard in the file"),
    (b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Old\r\nEND:VCARD\r\n", r"line 2: "),
    # a good card, then a broken one: nothing of the file is imported
    (CARD_40.encode() + b"BEGIN:VCARD\r\nVERSION:4.0\r\nFN;bad\r\nEND:VCARD\r\n",
     r"line 15: "),
])
def test_bad_file_is_refused_whole(box, bad, why):
    r = box.cli("contacts", "import", USER, write(box, "bad.vcf", bad))
    assert r.returncode != 0
    assert re.search(why, r.stderr) and "nothing imported" in r.stderr, r.stderr
    assert r.stdout == ""
    assert export(box) == b""
    db = box.db()
    assert db.execute("SELECT count(*) FROM cards").fetchone()[0] == 0
    db.close()


def test_refused_card_is_counted_with_why(box):
    long_uid = CARD_40.replace("UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
                               "UID:" + "u" * 300)
    twice = CARD_40_SPLIT_UTF8
    src = vcf_bytes(CARD_40, long_uid, CARD_40_SPLIT_UTF8, twice)
    r = box.cli("contacts", "import", USER, write(box, "some.vcf", src))
    assert r.returncode == 0, r.stderr
    assert "2 imported, 0 replaced, 2 refused" in r.stdout, r.stdout
    assert re.search(r"refused card 2 \(UID u+\): its UID is longer than 255", r.stdout)
    assert "refused card 4 (UID split-utf8-card): its UID is that of an earlier card" in r.stdout
    assert len(cards_of(export(box))) == 2


def test_books_and_errors(box):
    path = write(box, "in.vcf", vcf_bytes(CARD_40))
    r = box.cli("contacts", "import", USER, path, "--book", "Work")
    assert r.returncode == 0 and "book Work created" in r.stdout, r.stdout + r.stderr
    r = box.cli("contacts", "import", USER, write(box, "b.vcf", vcf_bytes(CARD_30_NO_UID)))
    assert r.returncode == 0, r.stderr
    assert books(box) == {"Contacts": 1, "Collected Addresses": 0, "Work": 1}
    work = cards_of(export(box, "--book", "Work"))
    assert len(work) == 1 and uid_of(work[0]) == "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1"
    assert len(cards_of(export(box))) == 2
    # the same UID in another book is another card
    r = box.cli("contacts", "import", USER, path)
    assert "1 imported, 0 replaced" in r.stdout
    # errors: an unknown account, book, command, file; usage
    r = box.cli("contacts", "import", "nobody@example.test", path)
    assert r.returncode == 1 and "no account nobody@example.test" in r.stderr
    r = box.cli("contacts", "export", "nobody@example.test", "-")
    assert r.returncode == 1 and "no account" in r.stderr
    r = box.cli("contacts", "list", "nobody@example.test")
    assert r.returncode == 1 and "no account" in r.stderr
    r = box.cli("contacts", "export", USER, "-", "--book", "Nope")
    assert r.returncode == 1 and "no book Nope" in r.stderr
    r = box.cli("contacts", "import", USER, str(box.tmp / "missing.vcf"))
    assert r.returncode == 1 and "cannot read" in r.stderr
    r = box.cli("contacts", "import", USER)
    assert r.returncode == 2 and "wrong number of arguments" in r.stderr
    r = box.cli("contacts", "frobnicate", USER)
    assert r.returncode == 2 and "unknown command" in r.stderr
    r = box.cli("contacts", "import", USER, path, "--bogus")
    assert r.returncode == 2
    r = box.cli("contacts", "--help")
    assert r.returncode == 0 and "import ACCOUNT FILE" in r.stdout


def test_import_from_stdin(box):
    r = box.cli("contacts", "import", USER, "-", input=CARD_40)
    assert r.returncode == 0 and "1 imported" in r.stdout, r.stderr
    assert export(box) == CARD_40.encode("utf-8")


def collected(box):
    data, _ = export_file(box, "--book", "Collected Addresses")
    out = {}
    for card in cards_of(data):
        fn = [l[3:].decode() for l in card if l.startswith(b"FN:")]
        em = [l[6:].decode() for l in card if l.startswith(b"EMAIL:")]
        assert len(fn) == 1 and len(em) == 1, card
        out[em[0]] = fn[0]
    return out


def test_sent_mail_fills_collected_addresses(tern_factory, tmp_path):
    t = tern_factory()
    t.tmp = tmp_path
    t.add_user(USER, PASSWORD)
    t.add_user("bob@example.test", PASSWORD)
    # Dora is in Contacts already (any case): not collected again
    known = ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:dora\r\nFN:Dora\r\n"
             "EMAIL:Dora@Example.NET\r\nEND:VCARD\r\n")
    assert t.cli("contacts", "import", USER, "-", input=known).returncode == 0
    msg = ("From: Ann <ann@example.test>\r\n"
           "To: =?utf-8?q?Bob_B=C3=A9la?= <bob@example.test>, carol@remote.test\r\n"
           "Cc: dora@example.net\r\n"
           "Subject: hello\r\n\r\nHi.\r\n").encode()
    with smtplib.SMTP(t.host, t.port("submission"), timeout=30) as s:
        s.starttls(context=ssl_ctx())
        s.login(USER, PASSWORD)
        # erin is a Bcc: only in the envelope
        s.sendmail(USER, ["bob@example.test", "carol@remote.test", "dora@example.net",
                          "erin@remote.test"], msg)
    assert collected(t) == {"bob@example.test": "Bob Béla",
                            "carol@remote.test": "carol@remote.test",
                            "erin@remote.test": "erin@remote.test"}
    assert "event=collected" in t.logs()
    # again: nothing new; a new address only
    with smtplib.SMTP(t.host, t.port("submission"), timeout=30) as s:
        s.starttls(context=ssl_ctx())
        s.login(USER, PASSWORD)
        s.sendmail(USER, ["BOB@example.test", "fred@remote.test"],
                   b"From: ann@example.test\r\nTo: Fred <fred@remote.test>\r\n"
                   b"Subject: again\r\n\r\nHi.\r\n")
    got = collected(t)
    assert len(got) == 4 and got["fred@remote.test"] == "Fred"
    assert books(t) == {"Contacts": 1, "Collected Addresses": 4}
    # mail that comes in from outside collects nothing for its recipient
    with smtplib.SMTP(t.host, t.port("smtp"), timeout=30) as s:
        s.sendmail("x@outside.test", ["bob@example.test"],
                   b"From: x@outside.test\r\nTo: bob@example.test\r\nSubject: in\r\n\r\nHi.\r\n")
    assert books(t, "bob@example.test") == {}


def test_send_api_fills_collected_addresses(tern_factory, tmp_path):
    """The HTTP send API goes through deliver/submit.c: its recipients are
    collected as well, the name from the JSON "to"."""
    from test_send_api import WEB, make_token, send
    t = tern_factory(listeners=WEB)
    t.tmp = tmp_path
    t.add_user(USER, PASSWORD)
    t.add_user("bob@example.test", PASSWORD)
    t.token = make_token(t, "--scope", "send", "--account", USER)
    st, _, doc = send(t, {"from": USER, "to": [{"name": "Bob Send", "email": "bob@example.test"}],
                          "bcc": ["hidden@remote.test"], "subject": "api", "text": "hi"})
    assert st == 200, doc
    assert collected(t) == {"bob@example.test": "Bob Send",
                            "hidden@remote.test": "hidden@remote.test"}
