"""The test messages: unique, recognisable, and compared byte for byte.

Each message starts with an `X-Rel: <id>` field (and carries the same id in
its Message-ID), so a message is identified wherever it turns up: a mailbox,
a POP3 maildrop, the relay's sink. tern may put trace fields in front
(Return-Path, Received; Authentication-Results on mx); everything from
X-Rel on must be exactly the bytes that were sent.
"""
import re

TRACE_FIELDS = (b"return-path:", b"received:", b"authentication-results:")
REL_ID = re.compile(rb"(?:^|\r\n)X-Rel: (rel-[A-Za-z0-9-]+)\r\n")


def make(rng, msgid, sender, to):
    lines = ["line %d of %s: %s" % (i, msgid, "x" * rng.randrange(0, 70))
             for i in range(rng.randrange(1, 40))]
    if rng.random() < 0.3:
        lines.append(".a line that starts with a dot")
    return ("X-Rel: %s\r\nFrom: %s\r\nTo: %s\r\nSubject: reliability %s\r\n"
            "Message-ID: <%s@reliability.test>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n\r\n%s\r\n"
            % (msgid, sender, ", ".join(to), msgid, msgid, "\r\n".join(lines))).encode()


def rel_id(data):
    m = REL_ID.search(data[:4096] if len(data) > 4096 else data)
    return m.group(1).decode() if m else None


def same(observed, sent):
    """observed is sent with, at most, trace fields in front."""
    if observed == sent:
        return True
    if not observed.endswith(sent):
        return False
    prefix = observed[:len(observed) - len(sent)]
    if not prefix.endswith(b"\r\n"):
        return False
    for line in prefix[:-2].split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue
        if not line.lower().startswith(TRACE_FIELDS):
            return False
    return True
