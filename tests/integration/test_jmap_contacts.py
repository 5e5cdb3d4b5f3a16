"""JMAP for Contacts (RFC 9610) against the real binary over HTTPS: the
session's capability, AddressBook/get, /set, /changes, ContactCard/set
(create, patch update, move, destroy), /get, /query, /queryChanges,
/changes, each with its errors (notFound, invalidProperties,
invalidPatch, stateMismatch, addressBookHasContents, forbidden,
cannotCalculateChanges, unsupportedFilter), and the same cards through
`tern contacts export` and `import`."""
import json

from test_jmap_imap import CORE, USER, api as jmap_api, basic, request, server

CONTACTS = "urn:ietf:params:jmap:contacts"


def api(t, calls):
    return jmap_api(t, calls, using=(CORE, CONTACTS))


def call(t, acct, name, **args):
    out = api(t, [[name, dict(args, accountId=acct), "0"]])
    assert len(out) == 1, out
    return out[0]


def ok(t, acct, name, **args):
    r = call(t, acct, name, **args)
    assert r[0] == name, r
    return r[1]


def account(t):
    r, data = request(t, "GET", "/.well-known/jmap", headers=basic())
    s = json.loads(data)
    assert CONTACTS in s["capabilities"], s["capabilities"]
    acct = s["primaryAccounts"][CONTACTS]
    caps = s["accounts"][acct]["accountCapabilities"][CONTACTS]
    assert caps == {"maxAddressBooksPerCard": 1, "mayCreateAddressBook": True}
    return acct


def books(t, acct):
    return ok(t, acct, "AddressBook/get")


def test_address_books(tern_factory):
    t = server(tern_factory)
    acct = account(t)
    got = books(t, acct)
    by_name = {b["name"]: b for b in got["list"]}
    assert set(by_name) == {"Contacts", "Collected Addresses"}, got
    assert by_name["Contacts"]["isDefault"] is True
    assert by_name["Contacts"]["myRights"]["mayDelete"] is False
    assert by_name["Collected Addresses"]["isDefault"] is False
    state = got["state"]
    # the same state twice; an unknown id is notFound
    again = ok(t, acct, "AddressBook/get", ids=[by_name["Contacts"]["id"], "D999999"],
               properties=["name"])
    assert again["state"] == state and again["notFound"] == ["D999999"]
    assert again["list"] == [{"id": by_name["Contacts"]["id"], "name": "Contacts"}]
    assert call(t, acct, "AddressBook/get", properties=["colour"])[1]["type"] == \
        "invalidArguments"

    res = ok(t, acct, "AddressBook/set", ifInState=state, create={
        "w": {"name": "Work"}, "bad": {"name": ""}, "dup": {"name": "Contacts"},
        "sub": {"name": "X", "isSubscribed": False}})
    assert set(res["created"]) == {"w"}, res
    assert res["notCreated"]["bad"]["type"] == "invalidProperties"
    assert res["notCreated"]["dup"]["properties"] == ["name"]
    assert res["notCreated"]["sub"]["properties"] == ["isSubscribed"]
    work = res["created"]["w"]["id"]
    assert res["oldState"] == state and res["newState"] != state
    ch = ok(t, acct, "AddressBook/changes", sinceState=state)
    assert ch["created"] == [work] and ch["updated"] == [] and ch["destroyed"] == []
    assert ch["newState"] == res["newState"]

    # stale ifInState
    r = call(t, acct, "AddressBook/set", ifInState=state, update={work: {"name": "Job"}})
    assert r[0] == "error" and r[1]["type"] == "stateMismatch", r
    s2 = res["newState"]
    res = ok(t, acct, "AddressBook/set", update={work: {"name": "Job"}, "D424242": {"name": "n"}})
    assert res["updated"] == {work: None}
    assert res["notUpdated"]["D424242"]["type"] == "notFound"
    ch = ok(t, acct, "AddressBook/changes", sinceState=s2)
    assert ch["updated"] == [work], ch
    r = call(t, acct, "AddressBook/changes", sinceState="bnot-a-state")
    assert r[1]["type"] == "cannotCalculateChanges"

    # a book with a card is not destroyed unless asked; the default never
    card = ok(t, acct, "ContactCard/set", create={"c": {
        "addressBookIds": {work: True}, "name": {"full": "In Work"}}})
    assert "c" in card["created"], card
    res = ok(t, acct, "AddressBook/set", destroy=[work, by_name["Contacts"]["id"]])
    assert res["notDestroyed"][work]["type"] == "addressBookHasContents", res
    assert res["notDestroyed"][by_name["Contacts"]["id"]]["type"] == "forbidden"
    s3 = res["newState"]
    res = ok(t, acct, "AddressBook/set", destroy=[work], onDestroyRemoveContents=True)
    assert res["destroyed"] == [work], res
    ch = ok(t, acct, "AddressBook/changes", sinceState=s3)
    assert ch["destroyed"] == [work]
    got = ok(t, acct, "ContactCard/get", ids=[card["created"]["c"]["id"]])
    assert got["notFound"] == [card["created"]["c"]["id"]]


# RFC 9610 §3.6's example card, with more of RFC 9553 around it
ANN = {
    "@type": "Card",
    "version": "1.0",
    "kind": "individual",
    "name": {"components": [{"kind": "given", "value": "Ann"},
                            {"kind": "surname", "value": "Example"}],
             "full": "Ann Example"},
    "emails": {"e1": {"address": "ann@example.org", "contexts": {"work": True}, "pref": 1},
               "e2": {"address": "ann.home@example.net"}},
    "phones": {"p1": {"number": "tel:+1-555-0100", "features": {"voice": True}}},
    "notes": {"n1": {"note": "Met at the conference"}},
    "example.com:colour": "green",
}


def test_cards(tern_factory):
    t = server(tern_factory)
    acct = account(t)
    default = next(b["id"] for b in books(t, acct)["list"] if b["isDefault"])
    s0 = ok(t, acct, "ContactCard/get", ids=[])["state"]
    assert ok(t, acct, "ContactCard/query")["ids"] == []

    res = ok(t, acct, "ContactCard/set", ifInState=s0, create={
        "ann": ANN,
        "bob": {"name": {"full": "Bob Other"}, "uid": "bob-1",
                "emails": {"x": {"address": "bob@example.com"}}},
        "nobook": {"addressBookIds": {"D999": True}, "name": {"full": "Nowhere"}},
        "twobooks": {"addressBookIds": {default: True, "D999": True}},
        "badmail": {"emails": {"e": {"contexts": {"work": True}}}},
        "withid": {"id": "C1"},
        "badtype": {"@type": "Group"},
    })
    assert set(res["created"]) == {"ann", "bob"}, res
    nc = res["notCreated"]
    assert nc["nobook"]["properties"] == ["addressBookIds"]
    assert nc["twobooks"]["properties"] == ["addressBookIds"]
    assert nc["badmail"] == {"type": "invalidProperties",
                             "description": nc["badmail"]["description"],
                             "properties": ["emails"]}
    assert nc["withid"]["properties"] == ["id"]
    assert nc["badtype"]["properties"] == ["@type"]
    ann_id = res["created"]["ann"]["id"]
    bob_id = res["created"]["bob"]["id"]
    assert res["created"]["ann"]["uid"].startswith("urn:uuid:")
    assert "uid" not in res["created"]["bob"]
    s1 = res["newState"]

    got = ok(t, acct, "ContactCard/get", ids=[ann_id, "C424242"])
    assert got["state"] == s1 and got["notFound"] == ["C424242"]
    ann = got["list"][0]
    assert ann["addressBookIds"] == {default: True}
    for k, v in ANN.items():
        assert ann[k] == v, (k, ann.get(k))
    # properties
    got = ok(t, acct, "ContactCard/get", ids=[bob_id], properties=["uid", "emails"])
    assert got["list"] == [{"id": bob_id, "uid": "bob-1",
                            "emails": {"x": {"address": "bob@example.com"}}}]

    # query: text, email, name, inAddressBook, uid, operators, sorting
    def q(**args):
        return ok(t, acct, "ContactCard/query", **args)["ids"]
    assert q(filter={"text": "conference"}) == [ann_id]
    assert q(filter={"text": "AN"}) == [ann_id]
    assert q(filter={"email": "example.com"}) == [bob_id]
    assert q(filter={"name": "other"}) == [bob_id]
    assert q(filter={"uid": "bob-1"}) == [bob_id]
    assert q(filter={"name/given": "ann"}) == [ann_id]
    assert q(filter={"name/surname": "ann"}) == []
    assert q(filter={"phone": "555-0100"}) == [ann_id]
    assert q(filter={"note": "CONFERENCE"}) == [ann_id]
    assert sorted(q(filter={"kind": "individual"})) == sorted([ann_id, bob_id])
    assert q(filter={"operator": "OR", "conditions": [{"uid": "bob-1"}, {"email": "ann@"}]}) \
        in ([ann_id, bob_id], [bob_id, ann_id])
    assert sorted(q(filter={"inAddressBook": default})) == sorted([ann_id, bob_id])
    assert q(filter={"operator": "NOT", "conditions": [{"text": "ann"}]}) == [bob_id]
    assert q(sort=[{"property": "name/given", "isAscending": False}]) == [bob_id, ann_id]
    assert q(sort=[{"property": "name/given"}]) == [ann_id, bob_id]
    res = ok(t, acct, "ContactCard/query", sort=[{"property": "name/given"}], position=1,
             limit=5, calculateTotal=True)
    assert res["ids"] == [bob_id] and res["total"] == 2 and res["position"] == 1
    r = call(t, acct, "ContactCard/query", filter={"hasMember": "x"})
    assert r[1]["type"] == "unsupportedFilter", r
    r = call(t, acct, "ContactCard/query", sort=[{"property": "colour"}])
    assert r[1]["type"] == "unsupportedSort", r
    qs = res["queryState"]
    qc = ok(t, acct, "ContactCard/queryChanges", sinceQueryState=qs)
    assert qc["added"] == [] and qc["removed"] == []

    # update with a patch; a bad patch; the uid stays; notFound
    res = ok(t, acct, "ContactCard/set", ifInState=s1, update={
        ann_id: {"emails/e2/address": "ann@home.example", "notes/n1": None,
                 "nicknames": {"k1": {"name": "Annie"}}},
        bob_id: {"uid": "other"},
        "C424242": {"name": None},
    })
    assert res["updated"] == {ann_id: None}, res
    assert res["notUpdated"][bob_id]["properties"] == ["uid"]
    assert res["notUpdated"]["C424242"]["type"] == "notFound"
    s2 = res["newState"]
    r = call(t, acct, "ContactCard/set", ifInState=s1, update={ann_id: {"kind": "org"}})
    assert r[0] == "error" and r[1]["type"] == "stateMismatch", r
    res = ok(t, acct, "ContactCard/set", update={ann_id: {"nosuch/path": 1}})
    assert res["notUpdated"][ann_id]["type"] == "invalidPatch", res
    s2b = res["newState"]
    assert s2b == s2
    ann = ok(t, acct, "ContactCard/get", ids=[ann_id])["list"][0]
    assert ann["emails"]["e2"] == {"address": "ann@home.example"}
    assert ann["notes"] == {} and ann["nicknames"] == {"k1": {"name": "Annie"}}
    assert ann["example.com:colour"] == "green"
    assert q(filter={"email": "home.example"}) == [ann_id]

    ch = ok(t, acct, "ContactCard/changes", sinceState=s0)
    assert sorted(ch["created"]) == sorted([ann_id, bob_id]) and ch["updated"] == [], ch
    ch = ok(t, acct, "ContactCard/changes", sinceState=s1)
    assert ch["created"] == [] and ch["updated"] == [ann_id] and ch["destroyed"] == []
    assert ch["newState"] == s2
    r = call(t, acct, "ContactCard/changes", sinceState=s0, maxChanges=1)
    assert r[1]["type"] == "cannotCalculateChanges"
    r = call(t, acct, "ContactCard/changes", sinceState="nonsense")
    assert r[1]["type"] == "cannotCalculateChanges"
    r = call(t, acct, "ContactCard/queryChanges", sinceQueryState=qs)
    assert r[1]["type"] == "cannotCalculateChanges"

    # move to another book: the same id
    nb = ok(t, acct, "AddressBook/set", create={"f": {"name": "Friends"}})["created"]["f"]["id"]
    res = ok(t, acct, "ContactCard/set", update={bob_id: {"addressBookIds": {nb: True}}})
    assert res["updated"] == {bob_id: None}, res
    assert q(filter={"inAddressBook": nb}) == [bob_id]
    assert ok(t, acct, "ContactCard/get", ids=[bob_id])["list"][0]["addressBookIds"] == \
        {nb: True}

    # destroy
    s3 = ok(t, acct, "ContactCard/get", ids=[])["state"]
    res = ok(t, acct, "ContactCard/set", destroy=[bob_id, "C424242"])
    assert res["destroyed"] == [bob_id], res
    assert res["notDestroyed"]["C424242"]["type"] == "notFound"
    ch = ok(t, acct, "ContactCard/changes", sinceState=s3)
    assert ch["destroyed"] == [bob_id] and ch["created"] == [] and ch["updated"] == [], ch
    # made and removed in between: nothing to tell
    s4 = ch["newState"]
    mk = ok(t, acct, "ContactCard/set", create={"tmp": {"name": {"full": "Tmp"}}})
    ok(t, acct, "ContactCard/set", destroy=[mk["created"]["tmp"]["id"]])
    ch = ok(t, acct, "ContactCard/changes", sinceState=s4)
    assert ch["created"] == ch["updated"] == ch["destroyed"] == [], ch


def test_contacts_need_the_capability(tern_factory):
    t = server(tern_factory)
    out = jmap_api(t, [["ContactCard/get", {"accountId": "A1"}, "0"]], using=(CORE,))
    assert out[0][0] == "error" and out[0][1]["type"] == "unknownMethod", out


VCF = ("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:imported-1\r\nFN:Carol Imported\r\n"
       "N:Imported;Carol;;;\r\nEMAIL;TYPE=home:carol@example.org\r\n"
       "X-CUSTOM;X-P=1:kept\r\nEND:VCARD\r\n")


def test_cli_import_and_export(tern_factory, tmp_path):
    t = server(tern_factory)
    acct = account(t)
    res = ok(t, acct, "ContactCard/set", create={"a": dict(ANN, uid="ann-uid-1")})
    ann_id = res["created"]["a"]["id"]
    out = tmp_path / "out.vcf"
    r = t.cli("contacts", "export", USER, str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_bytes().decode()
    assert "UID:ann-uid-1\r\n" in text
    assert "EMAIL;PROP-ID=e1;TYPE=work;PREF=1:ann@example.org\r\n" in text, text
    assert "FN:Ann Example\r\n" in text and "N:Example;Ann;;;\r\n" in text
    assert 'JSPTR="example.com:colour"' in text or "JSPTR=example.com:colour" in text

    src = tmp_path / "in.vcf"
    src.write_bytes(VCF.encode())
    s0 = ok(t, acct, "ContactCard/get", ids=[])["state"]
    r = t.cli("contacts", "import", USER, str(src))
    assert r.returncode == 0, r.stderr
    ids = ok(t, acct, "ContactCard/query", filter={"email": "carol@"})["ids"]
    assert len(ids) == 1
    carol = ok(t, acct, "ContactCard/get", ids=ids)["list"][0]
    assert carol["uid"] == "imported-1" and carol["name"]["full"] == "Carol Imported"
    assert carol["emails"]["e1"] == {"address": "carol@example.org",
                                     "contexts": {"private": True}}
    assert carol["vCardProps"] == [["x-custom", {"x-p": "1"}, "unknown", "kept"]]
    ch = ok(t, acct, "ContactCard/changes", sinceState=s0)
    assert ch["created"] == ids, ch
    # an update over JMAP keeps what JMAP does not show
    ok(t, acct, "ContactCard/set", update={ids[0]: {"name/full": "Carol I."}})
    r = t.cli("contacts", "export", USER, "-")
    assert "X-CUSTOM;X-P=1:kept\n" in r.stdout and "FN:Carol I.\n" in r.stdout, r.stdout
    assert ann_id


def test_sent_mail_fills_collected_addresses(tern_factory):
    """Mail sent over JMAP: its recipients show up over JMAP Contacts in
    "Collected Addresses" (deliver/collect.c), once, and /changes says so;
    an address already on a card is not collected again."""
    t = server(tern_factory)
    t.add_user("bob@example.test", "bob's long password")
    acct = account(t)
    collected = next(b["id"] for b in books(t, acct)["list"] if b["name"] == "Collected Addresses")
    ok(t, acct, "ContactCard/set", create={"k": {"name": {"full": "Known"},
                                                 "emails": {"e": {"address": "known@remote.example"}}}})
    s0 = ok(t, acct, "ContactCard/get", ids=[])["state"]
    mbs = jmap_api(t, [["Mailbox/get", {"accountId": acct}, "m"]])[0][1]["list"]
    drafts = next(m["id"] for m in mbs if m["role"] == "drafts")
    sub = "urn:ietf:params:jmap:submission"
    mail = "urn:ietf:params:jmap:mail"
    ident = jmap_api(t, [["Identity/get", {"accountId": acct}, "i"]], using=(CORE, sub))
    ident = next(i["id"] for i in ident[0][1]["list"] if i["email"] == USER)
    out = jmap_api(t, [
        ["Email/set", {"accountId": acct, "create": {"m": {
            "mailboxIds": {drafts: True}, "from": [{"email": USER}],
            "to": [{"name": "Bob Person", "email": "bob@example.test"}],
            "cc": [{"email": "Known@remote.example"}],
            "subject": "hello", "textBody": [{"partId": "1", "type": "text/plain"}],
            "bodyValues": {"1": {"value": "hi"}}}}}, "0"],
        ["EmailSubmission/set", {"accountId": acct, "create": {
            "s": {"identityId": ident, "emailId": "#m"}}}, "1"]],
        using=(CORE, mail, sub))
    assert "s" in out[1][1].get("created", {}), out[1][1].get("notCreated")
    ids = ok(t, acct, "ContactCard/query", filter={"inAddressBook": collected})["ids"]
    assert len(ids) == 1, ids
    card = ok(t, acct, "ContactCard/get", ids=ids)["list"][0]
    assert [e["address"] for e in card["emails"].values()] == ["bob@example.test"]
    assert card["name"]["full"] == "Bob Person"
    ch = ok(t, acct, "ContactCard/changes", sinceState=s0)
    assert ch["created"] == ids and ch["updated"] == [], ch
