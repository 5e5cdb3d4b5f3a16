"""[log] format = "json": every line tern writes to its log is one JSON
object (ts, level, then the event's key=value fields as members), whatever
a client put into a logged value; a bad format name is refused."""
import json
import smtplib


def test_json_log_lines_parse_and_carry_the_events(tern_factory):
    t = tern_factory(extra_config='[log]\nformat = "json"\n')
    s = smtplib.SMTP(t.host, t.port("smtp"), timeout=10)
    s.ehlo('client"with\\quotes')
    # a client-controlled address with a quote, a backslash and a control byte
    code, _ = s.docmd('MAIL FROM:<"a\\"b\\\\c\x01"@example.net>')
    s.send(b"RCPT TO:<nobody\xff\xfe@example.test>\r\n")  # not UTF-8
    s.getreply()
    s.rset()
    s.sendmail("sender@example.net", ["postmaster@example.test"],
               b"Subject: json\r\n\r\nhello\r\n")
    s.quit()
    t.stop()
    raw = open(t.log_path, "rb").read()
    lines = raw.split(b"\n")
    assert lines[-1] == b""
    events = []
    for line in lines[:-1]:
        obj = json.loads(line)  # every line, and strict UTF-8
        line.decode("utf-8")
        assert list(obj)[:2] == ["ts", "level"], line
        assert obj["level"] in ("debug", "info", "warn", "error")
        assert all(isinstance(v, str) or v is True for v in obj.values()), line
        events.append(obj)
    names = [e.get("event") for e in events]
    assert "listening" in names or any("listen" in (n or "") for n in names), names
    assert "shutdown" in names, names
    sessions = [e for e in events if e.get("proto") == "smtp"]
    assert sessions and all("sid" in e and "peer" in e for e in sessions)
    assert any(e.get("event") == "connect" for e in sessions), sessions[:3]


def test_logfmt_stays_the_default(tern):
    tern.stop()
    first = tern.logs().splitlines()[0]
    assert not first.startswith("{") and " info " in first or " debug " in first, first


def test_unknown_log_format_is_refused(tern_factory):
    t = tern_factory(extra_config='[log]\nformat = "xml"\n', start=False)
    r = t.cli("check-config")
    assert r.returncode != 0
    assert "format" in r.stderr and "logfmt" in r.stderr, r.stderr
