"""JMAP VacationResponse (RFC 8621 §8, proto/jmap/vacation_response.c)
against the real binary, over the webmail's managed Sieve script "webmail"
(web/sieve_managed.js): the capability in the session; /get with no
script (off, all null); /set turning the reply on, after which mail over
SMTP gets a vacation reply in the queue, and off again, after which it
does not; the script it writes is one the page reads back (node) and that
ManageSieve shows; a script the page wrote, uploaded over ManageSieve or
JMAP SieveScript/set, read by /get, and a /set that keeps its rules; the
errors: create and destroy (singleton), another id (notFound), bad
property types, dates and htmlBody (invalidProperties), a subject over
two lines, ifInState, another script active and a "webmail" script the
page did not write (forbidden, nothing changed)."""
import json
import os
import shutil
import smtplib
import subprocess
import tempfile

import pytest

from conftest import HOST
from relayutil import Dns, queue_config, wait_for
from test_jmap_sieve import download, sieve_session, upload, web

USER, PASSWORD = "alice@example.test", "correct horse battery"
CORE = "urn:ietf:params:jmap:core"
SIEVE = "urn:ietf:params:jmap:sieve"
VACATION = "urn:ietf:params:jmap:vacationresponse"
USING = [CORE, SIEVE, VACATION]
MARK = "# tern-webmail v1 "
NODE = shutil.which("node")
PAGE_JS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "web",
                                       "sieve_managed.js"))

LISTENERS = [("https", "http", "implicit"), ("smtp", "smtp", "none"),
             ("sieve", "sieve", "starttls")]


@pytest.fixture
def t(tern_factory):
    d = tempfile.mkdtemp(prefix="tern-vacation-dns-")
    dns = Dns([], d)
    try:
        # replies stay in the queue: the first retry is an hour away
        t = tern_factory(extra_config=queue_config(dns, 25, retry_first=3600, retry_max=3600),
                         listeners=LISTENERS,
                         auth={"check_spf": "false", "check_dkim": "false",
                               "check_dmarc": "false"})
        t.add_user(USER, PASSWORD)
        yield t
    finally:
        dns.stop()
        shutil.rmtree(d, ignore_errors=True)


def account(t):
    status, data = web(t, "GET", "/.well-known/jmap")
    assert status == 200, data
    return json.loads(data)["primaryAccounts"][VACATION]


def call(t, name, args, using=USING):
    args = dict(args)
    args.setdefault("accountId", account(t))
    status, data = web(t, "POST", "/jmap/api",
                       json.dumps({"using": using, "methodCalls": [[name, args, "c"]]}),
                       {"Content-Type": "application/json"})
    assert status == 200, data
    r = json.loads(data)["methodResponses"]
    assert len(r) == 1, r
    return r[0]


def get(t, **args):
    name, res, _ = call(t, "VacationResponse/get", args)
    assert name == "VacationResponse/get", res
    return res


def vset(t, patch, **args):
    name, res, _ = call(t, "VacationResponse/set", dict(args, update={"singleton": patch}))
    assert name == "VacationResponse/set", res
    return res


def scripts(t):
    _, res, _ = call(t, "SieveScript/get", {})
    return {s["name"]: s for s in res["list"]}


def script_text(t, name):
    status, data = download(t, scripts(t)[name]["blobId"])
    assert status == 200
    return data.decode()


def page(expr):
    """What web/sieve_managed.js's code gives for expr (with toSieve and
    fromSieve in scope), as JSON."""
    js = ("import(%s).then(({toSieve, fromSieve}) => process.stdout.write("
          "JSON.stringify(%s)))" % (json.dumps("file://" + PAGE_JS), expr))
    r = subprocess.run([NODE, "--input-type=module", "-e", js], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def queue(t):
    db = t.db()
    try:
        return [(r[0], r[1], bytes(r[2])) for r in db.execute(
            "SELECT q.mail_from, q.rcpt, m.data FROM queue q JOIN messages m "
            "ON m.id = q.message_id ORDER BY q.id")]
    finally:
        db.close()


def send(t, sender, subject):
    msg = ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
           "Message-ID: <%s@far.fail.test>\r\n\r\nHello.\r\n" %
           (sender, USER, subject, subject.replace(" ", ".")))
    with smtplib.SMTP(HOST, t.port("smtp"), timeout=30) as s:
        s.sendmail(sender, [USER], msg)


def delivered(t, subject):
    """Whether a message with that subject is in a mailbox."""
    db = t.db()
    try:
        rows = db.execute("SELECT m.data FROM mailbox_entries e JOIN messages m "
                          "ON m.id = e.message_id").fetchall()
    finally:
        db.close()
    return any(("Subject: %s\r\n" % subject).encode() in bytes(r[0]) for r in rows)


def replies_to(t, rcpt):
    return [r for r in queue(t) if r[1] == rcpt]


def put_over_managesieve(t, name, text, activate=True):
    ms = sieve_session(t)
    ms.send('PUTSCRIPT "%s" {%d+}\r\n%s\r\n' % (name, len(text.encode()), text))
    _, ok = ms.response()
    assert ok.startswith("OK"), ok
    if activate:
        _, ok = ms.cmd('SETACTIVE "%s"' % name)
        assert ok.startswith("OK"), ok
    ms.cmd("LOGOUT")
    ms.close()


OFF = {"id": "singleton", "isEnabled": False, "fromDate": None, "toDate": None,
       "subject": None, "textBody": None, "htmlBody": None}


def test_capability_and_get_with_no_script(t):
    status, data = web(t, "GET", "/.well-known/jmap")
    s = json.loads(data)
    assert s["capabilities"][VACATION] == {}
    acct = s["primaryAccounts"][VACATION]
    assert s["accounts"][acct]["accountCapabilities"][VACATION] == {}
    res = get(t)
    assert res["list"] == [OFF] and res["notFound"] == []
    assert res["state"]
    res = get(t, ids=["singleton", "other", "singleton"], properties=["isEnabled"])
    assert res["list"] == [{"id": "singleton", "isEnabled": False}]
    assert res["notFound"] == ["other"]
    name, res, _ = call(t, "VacationResponse/get", {"properties": ["nope"]})
    assert name == "error" and res["type"] == "invalidArguments"
    # the capability is needed in "using"
    name, res, _ = call(t, "VacationResponse/get", {}, using=[CORE])
    assert name == "error" and res["type"] == "unknownMethod"


def test_set_on_replies_to_smtp_mail_and_off_stops(t):
    state0 = get(t)["state"]
    res = vset(t, {"isEnabled": True, "subject": "Away", "textBody": "Back on Monday.",
                   "htmlBody": None, "fromDate": None, "toDate": None})
    assert res["updated"] == {"singleton": None}, res
    assert res["oldState"] == state0 and res["newState"] != state0
    assert res.get("notUpdated") is None
    got = get(t)
    assert got["state"] == res["newState"]
    assert got["list"] == [dict(OFF, isEnabled=True, subject="Away", textBody="Back on Monday.")]
    # the webmail's script, made the active one (none was)
    s = scripts(t)
    assert list(s) == ["webmail"] and s["webmail"]["isActive"]
    text = script_text(t, "webmail")
    assert text.startswith(MARK)
    assert 'vacation :days 7 :subject "Away" "Back on Monday.";\r\n' in text
    if NODE:  # the page reads it back, and would write the very same bytes
        back = page("(() => { const t = %s; const m = fromSieve(t); "
                    "return {m, same: toSieve(m) === t}; })()" % json.dumps(text))
        assert back["same"] is True
        assert back["m"]["vacation"] == {"enabled": True, "subject": "Away",
                                         "body": "Back on Monday.", "days": 7}
    send(t, "friend@far.fail.test", "first")
    wait_for(lambda: replies_to(t, "friend@far.fail.test"), what="a vacation reply")
    (mail_from, _, data), = replies_to(t, "friend@far.fail.test")
    assert mail_from == ""
    assert b"Subject: Away\r\n" in data and b"Back on Monday." in data
    assert b"Auto-Submitted: auto-replied" in data

    res = vset(t, {"isEnabled": False}, ifInState=got["state"])
    assert res["updated"] == {"singleton": None}, res
    got = get(t)["list"][0]
    assert got["isEnabled"] is False and got["subject"] == "Away"  # kept for next time
    assert "vacation :days" not in script_text(t, "webmail")
    send(t, "other@far.fail.test", "second")
    # the message is delivered (so the script ran) and no reply is queued
    wait_for(lambda: delivered(t, "second"), what="delivery")
    assert replies_to(t, "other@far.fail.test") == []
    # textBody and subject null: the script's defaults
    res = vset(t, {"isEnabled": True, "subject": None, "textBody": None})
    assert res["updated"] == {"singleton": None}
    assert get(t)["list"][0] == dict(OFF, isEnabled=True)
    assert 'vacation :days 7 "I am away.";\r\n' in script_text(t, "webmail")


PAGE_DATA = ("{rules: [{field: 'subject', contains: 'report', action: 'move', target: 'Work'},"
             "{field: 'from', contains: 'spam@', action: 'delete', target: ''}],"
             "vacation: {enabled: true, subject: 'Holiday', body: 'Back in January.', days: 14}}")
# what web/sieve_managed.js's toSieve gives for PAGE_DATA (checked against
# node below when it is installed)
PAGE_SCRIPT = (
    MARK + '{"rules":[{"field":"subject","contains":"report","action":"move","target":"Work"},'
    '{"field":"from","contains":"spam@","action":"delete","target":""}],"vacation":'
    '{"enabled":true,"subject":"Holiday","body":"Back in January.","days":14}}\r\n'
    "# Written by the webmail (Settings: Rules, Out of office): change it there.\r\n"
    'require ["fileinto", "mailbox", "vacation"];\r\n'
    "# Out of office\r\n"
    'vacation :days 14 :subject "Holiday" "Back in January.";\r\n'
    "# Rule 1\r\n"
    'if header :contains ["subject"] "report" {\r\n'
    '  fileinto :create "Work";\r\n'
    "  stop;\r\n"
    "}\r\n"
    "# Rule 2\r\n"
    'if header :contains ["from"] "spam@" {\r\n'
    "  discard;\r\n"
    "  stop;\r\n"
    "}\r\n")


@pytest.mark.skipif(not NODE, reason="node not installed")
def test_page_script_literal_is_the_pages():
    assert page("toSieve(%s)" % PAGE_DATA) == PAGE_SCRIPT


def test_get_reads_the_pages_script_from_managesieve_and_set_keeps_rules(t):
    put_over_managesieve(t, "webmail", PAGE_SCRIPT)
    assert get(t)["list"] == [dict(OFF, isEnabled=True, subject="Holiday",
                                   textBody="Back in January.")]
    res = vset(t, {"textBody": "Back on the 5th."})
    assert res["updated"] == {"singleton": None}, res
    text = script_text(t, "webmail")
    # only the body changed: rules, days and subject as the page wrote them
    assert text == PAGE_SCRIPT.replace("Back in January.", "Back on the 5th.")
    ms = sieve_session(t)
    lines, ok = ms.cmd('GETSCRIPT "webmail"')
    assert ok.startswith("OK") and 'fileinto :create "Work";' in lines[0]
    ms.cmd("LOGOUT")
    ms.close()
    # not the active script any more: no reply, whatever the line says
    put_over_managesieve(t, "mine", "keep;\r\n")
    assert get(t)["list"][0]["isEnabled"] is False
    assert get(t)["list"][0]["textBody"] == "Back on the 5th."


def test_get_reads_the_pages_script_from_jmap_sieve(t):
    blob = upload(t, PAGE_SCRIPT.replace('"enabled":true', '"enabled":false'))
    # (the text below the first line is what the page would write for it
    # only when it is re-written; get reads the first line)
    _, res, _ = call(t, "SieveScript/set", {"create": {"w": {"name": "webmail", "blobId": blob}},
                                            "onSuccessActivateScript": "#w"})
    assert res["created"]["w"]["isActive"] is True, res
    before = get(t)
    assert before["list"] == [dict(OFF, subject="Holiday", textBody="Back in January.")]
    res = vset(t, {"isEnabled": True}, ifInState=before["state"])
    assert res["updated"] == {"singleton": None}, res
    assert script_text(t, "webmail") == PAGE_SCRIPT
    # a stale state is refused
    name, res, _ = call(t, "VacationResponse/set", {"ifInState": before["state"],
                                                     "update": {"singleton": {}}})
    assert name == "error" and res["type"] == "stateMismatch"


def test_set_errors(t):
    res = call(t, "VacationResponse/set", {"create": {"n": {"isEnabled": True}},
                                           "destroy": ["singleton"],
                                           "update": {"other": {"isEnabled": True}}})[1]
    assert res["notCreated"]["n"]["type"] == "singleton"
    assert res["notDestroyed"]["singleton"]["type"] == "singleton"
    assert res["notUpdated"]["other"]["type"] == "notFound"
    assert res["created"] == {} and res["updated"] == {} and res["destroyed"] == []
    assert res["oldState"] == res["newState"]
    for patch, props in [({"isEnabled": "yes"}, ["isEnabled"]),
                         ({"subject": 5, "textBody": ["x"]}, ["subject", "textBody"]),
                         ({"fromDate": "2026-12-24T00:00:00Z"}, ["fromDate"]),
                         ({"toDate": "2027-01-05T00:00:00Z"}, ["toDate"]),
                         ({"htmlBody": "<p>Away</p>"}, ["htmlBody"]),
                         ({"subject": "two\r\nlines"}, ["subject"]),
                         ({"id": "other"}, ["id"]),
                         ({"days": 3}, ["days"])]:
        res = vset(t, patch)
        err = res["notUpdated"]["singleton"]
        assert err["type"] == "invalidProperties" and sorted(err["properties"]) == props, \
            (patch, err)
        assert err["description"]
    assert "RFC 5260" in vset(t, {"fromDate": "2026-12-24T00:00:00Z"})[
        "notUpdated"]["singleton"]["description"]
    res = vset(t, "not an object")
    assert res["notUpdated"]["singleton"]["type"] == "invalidPatch"
    res = vset(t, {"textBody": "x" * (70 * 1024)})
    assert res["notUpdated"]["singleton"]["type"] == "tooLarge"
    assert scripts(t) == {}  # none of these wrote anything
    name, res, _ = call(t, "VacationResponse/set", {"update": []})
    assert name == "error" and res["type"] == "invalidArguments"


def test_set_refused_while_another_script_is_active(t):
    put_over_managesieve(t, "mine", "keep;\r\n")
    state = get(t)["state"]
    err = vset(t, {"isEnabled": True})["notUpdated"]["singleton"]
    assert err["type"] == "forbidden" and '"mine"' in err["description"], err
    s = scripts(t)
    assert list(s) == ["mine"] and s["mine"]["isActive"]  # never deactivated
    assert get(t)["state"] == state


def test_set_refused_on_a_webmail_script_the_page_did_not_write(t):
    own = 'require "fileinto";\r\nfileinto "Mine";\r\n'
    put_over_managesieve(t, "webmail", own)
    assert get(t)["list"] == [OFF]
    err = vset(t, {"isEnabled": True})["notUpdated"]["singleton"]
    assert err["type"] == "forbidden" and "not written by the webmail" in err["description"]
    assert script_text(t, "webmail") == own
    # a managed script that is not active, and none is: set makes it active
    put_over_managesieve(t, "webmail", PAGE_SCRIPT, activate=False)
    ms = sieve_session(t)
    _, ok = ms.cmd('SETACTIVE ""')
    assert ok.startswith("OK"), ok
    ms.cmd("LOGOUT")
    ms.close()
    assert not scripts(t)["webmail"]["isActive"]
    assert get(t)["list"][0]["isEnabled"] is False
    assert vset(t, {"subject": "Holiday!"})["updated"] == {"singleton": None}
    assert scripts(t)["webmail"]["isActive"]
    assert get(t)["list"][0]["isEnabled"] is True


RANDOM_PAGES = r"""
(() => {
  let seed = 22;
  const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor(seed / 65536) % n; };
  const bits = ['a', 'b', ' ', '"', '\\', '\n', '\r\n', '\t', '\u0001', '\u007f', '\u00e9',
                '\ud83d\ude00', '\u2028', '@', '.', '/', '{', '}', '<', '\u00a0'];
  const str = (max) => { let s = ''; for (let i = rnd(max); i >= 0; i--) s += bits[rnd(bits.length)]; return s; };
  const targets = ['Work', 'Work/Reports', 'me@elsewhere.example', 'a@b..c', '', 'bad target', str(6)];
  const out = [];
  for (let k = 0; k < 15; k++) {
    const rules = [];
    for (let i = rnd(6); i > 0; i--)
      rules.push({field: ['from', 'to', 'subject', 'cc'][rnd(4)], contains: str(8),
                  action: ['move', 'read', 'forward', 'delete'][rnd(4)],
                  target: targets[rnd(targets.length)]});
    const page = {rules, vacation: {enabled: rnd(2) === 1, subject: str(5), body: str(12),
                                    days: rnd(400)}};
    const text = toSieve(page);
    const subject = 'S ' + str(6).replace(/[\u0000-\u001f\u007f]/g, '');
    const body = str(12);
    const m = fromSieve(text);
    m.vacation.subject = subject; m.vacation.body = body;
    out.push({text, subject, body, want: toSieve(m)});
  }
  return out;
})()
"""


@pytest.mark.skipif(not NODE, reason="node not installed")
def test_set_writes_what_the_page_would_for_random_pages(t):
    """Scripts the page's own code wrote for random data (quotes,
    backslashes, controls, emoji, U+2028, rules it drops), uploaded over
    ManageSieve; after a /set of subject and textBody the script is the
    very text the page would write for the same change."""
    for case in page(RANDOM_PAGES):
        put_over_managesieve(t, "webmail", case["text"])
        res = vset(t, {"subject": case["subject"], "textBody": case["body"]})
        assert res["updated"] == {"singleton": None}, (case, res)
        assert script_text(t, "webmail") == case["want"], case


def test_set_refused_when_the_lines_rules_do_not_compile(t):
    """The page lets through a forward address the compiler refuses; a
    script whose first line holds one (the rest edited to compile) is read,
    but the text /set would write does not compile: forbidden, with the
    compiler's message, and the script is left as it was."""
    line = MARK + json.dumps({"rules": [{"field": "from", "contains": "x", "action": "forward",
                                         "target": "me@elsewhere.[xample"}],
                              "vacation": {"enabled": False, "subject": "", "body": "",
                                           "days": 7}}, separators=(",", ":"))
    text = line + "\r\nkeep;\r\n"
    put_over_managesieve(t, "webmail", text)
    assert get(t)["list"] == [OFF]
    err = vset(t, {"isEnabled": True})["notUpdated"]["singleton"]
    assert err["type"] == "forbidden" and "redirect" in err["description"], err
    assert script_text(t, "webmail") == text
