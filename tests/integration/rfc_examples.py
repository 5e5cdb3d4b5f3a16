"""The example JSON of RFC 8620 and RFC 8621, read from the RFC text at
test time ($TERN_SHARED/testdata/rfc, never copied into the repository),
so that the tests send the RFC's own requests and compare the live
answers with the RFC's own responses. The RFC text wraps long strings
over lines and elides with "..."; this module undoes both, and repairs
the one missing comma of RFC 8620 §2.1's Session example."""
import json
import os
import re

import pytest

from conftest import SHARED

RFC_DIR = os.path.join(SHARED, "testdata", "rfc")
_SECTION = re.compile(r"^(\d+(?:\.\d+)*)\.\s+\S")
_cache = {}
_told = []


def rfc_lines(number):
    """The RFC's lines without its page breaks; skips the test when the
    text is not there (saying why on one "SKIPPED:" line, once)."""
    path = os.path.join(RFC_DIR, "rfc%d.txt" % number)
    if not os.path.exists(path):
        why = "test_jmap_rfc_examples: %s not found ($TERN_SHARED/testdata/rfc)" % path
        if not _told:
            print("SKIPPED: " + why)
            _told.append(why)
        pytest.skip("SKIPPED: " + why)
    with open(path, encoding="utf-8-sig") as f:
        text = f.read()
    text = re.sub(r"\n[^\n]*\[Page \d+\]\n\f?\nRFC \d+[^\n]*\n", "\n", text)
    return text.split("\n")


def _depth_change(line):
    depth = 0
    for ch in re.sub(r'"(?:[^"\\]|\\.)*"', '""', line):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
    return depth


def _raw_blocks(lines):
    """(section, text) of each JSON block: a line opening with "[" or "{"
    after a blank line or a colon, up to where its brackets close."""
    section, i, out = None, 0, []
    while i < len(lines):
        m = _SECTION.match(lines[i])
        if m:
            section = m.group(1)
        s = lines[i].strip()
        starts = s[:1] in ("[", "{") and not re.match(r"\[[A-Za-z]", s)
        after = i > 0 and (lines[i - 1].strip() == "" or lines[i - 1].rstrip().endswith(":"))
        if starts and after and section:
            depth, j = 0, i
            while j < len(lines):
                depth += _depth_change(lines[j])
                j += 1
                if depth <= 0:
                    break
            out.append((section, "\n".join(lines[i:j])))
            i = j
            continue
        i += 1
    return out


def _join_wrapped_strings(text):
    out, in_string, i = [], False, 0
    while i < len(text):
        c = text[i]
        if in_string and c == "\\":
            out.append(text[i:i + 2])
            i += 2
            continue
        if c == '"':
            in_string = not in_string
        if in_string and c == "\n":
            while i + 1 < len(text) and text[i + 1] == " ":
                i += 1
            c = " "
        out.append(c)
        i += 1
    return "".join(out)


def parse_block(text):
    text = _join_wrapped_strings(text)
    text = "\n".join(ln for ln in text.split("\n") if ln.strip() != "...")
    text = re.sub(r",\s*\.\.\.\s*([\]}])", r"\1", text)
    text = re.sub(r"([}\]])(\s*\n\s*\")", r"\1,\2", text)  # RFC 8620 §2.1: "{}" then no ","
    text = re.sub(r",(\s*[\]}])", r"\1", text)
    return json.loads(text)


def examples(number, section=None):
    """The parsed JSON blocks of RFC `number` in `section` (exactly that
    section, not its subsections), in the RFC's order; all blocks as
    (section, value) pairs without `section`."""
    if number not in _cache:
        _cache[number] = [(s, parse_block(t)) for s, t in _raw_blocks(rfc_lines(number))]
    if section is None:
        return list(_cache[number])
    return [v for s, v in _cache[number] if s == section]


def invocations(value):
    """An example's method calls or responses as a list of invocations
    (RFC 8621 §6.4 writes a single one without the outer list)."""
    if isinstance(value, list) and value and isinstance(value[0], str):
        return [value]
    return value


def rewrite(value, ids):
    """The example with the RFC's ids, states and names replaced by the
    live server's: a string equal to a key of `ids` becomes its value, in
    object keys and values alike, and so does each "/"-separated segment
    of a patch key ("mailboxIds/<id>")."""
    if isinstance(value, dict):
        return {rewrite_key(k, ids): rewrite(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, ids) for v in value]
    if isinstance(value, str):
        return ids.get(value, value)
    return value


def rewrite_key(key, ids):
    if key in ids:
        return ids[key]
    if "/" in key:
        return "/".join(ids.get(seg, seg) for seg in key.split("/"))
    return key


def assert_shape(rfc, ours, allow_missing=(), path="response"):
    """`ours` has the RFC response's shape: the same method names and call
    ids in the same order, every argument the RFC shows (less the ones in
    `allow_missing`, each with its reason at the call site), and for
    "list", "created" and the like every key the RFC's items show."""
    rfc, ours = invocations(rfc), invocations(ours)
    assert [(r[0], r[2]) for r in ours] == [(r[0], r[2]) for r in rfc], (path, ours)
    for (name, want, cid), (_, got, _) in zip(rfc, ours):
        where = "%s %s %s" % (path, name, cid)
        if name == "error":
            assert got.get("type") == want.get("type"), (where, got)
        _keys_within(want, got, allow_missing, where)


def _keys_within(want, got, allow_missing, where):
    assert isinstance(got, dict), (where, got)
    missing = set(want) - set(got) - set(allow_missing)
    assert not missing, (where, sorted(missing), got)
    for key in ("list",):
        if isinstance(want.get(key), list) and want[key]:
            assert isinstance(got.get(key), list) and got[key], (where, key, got)
            by_id = {x.get("id"): x for x in got[key] if isinstance(x, dict)}
            for item in want[key]:
                mine = by_id.get(item.get("id"), got[key][0])
                _keys_within(item, mine, allow_missing, where + " " + key)
    for key in ("created", "notCreated", "notUpdated", "notDestroyed"):
        if isinstance(want.get(key), dict) and want[key]:
            assert isinstance(got.get(key), dict) and got[key], (where, key, got)
            first = next(iter(got[key].values()))
            for item in want[key].values():
                missing = set(item) - set(first) - set(allow_missing)
                assert not missing, (where, key, sorted(missing), got)


def section_lines(number, section):
    """The lines of one section of the RFC (without its subsections)."""
    out, inside = [], False
    for line in rfc_lines(number):
        m = _SECTION.match(line)
        if m:
            inside = m.group(1) == section
            continue
        if inside:
            out.append(line)
    return out


def bulleted_names(number, section, indent=3, bullet="o"):
    """The names the section defines in its "o  name: "Type"" list at
    that indent (sublists use "*"): the properties of an object or the
    arguments of a method, as the RFC lists them."""
    pat = re.compile(r"^%s%s  (\w+): \"" % (" " * indent, re.escape(bullet)))
    return [m.group(1) for m in map(pat.match, section_lines(number, section)) if m]


def example_header_value(number, section):
    """The header field value a section parses as its example (the lines
    between 'the following "address-list" string:' and 'would be parsed
    as:'), folded as a message would carry it."""
    lines = section_lines(number, section)
    start = next(i for i, ln in enumerate(lines) if 'the following "address-list" string:' in ln)
    end = next(i for i, ln in enumerate(lines) if "would be parsed as:" in ln and i > start)
    parts = [ln.strip() for ln in lines[start + 1:end] if ln.strip()]
    return "\r\n ".join(parts)


def section_titles(number, prefix):
    """The heading lines of the sections whose numbers start with prefix
    ("4.1.2." gives 4.1.2.1, 4.1.2.2, ...), in order."""
    return [ln for ln in rfc_lines(number)
            if _SECTION.match(ln) and ln.startswith(prefix) and "  " in ln and
            _SECTION.match(ln).group(1) != prefix.rstrip(".")]
