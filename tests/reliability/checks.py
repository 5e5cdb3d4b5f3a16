"""The invariants, checked after each restart over IMAP, POP3 and the CLI
(never by reading SQLite): what the clients were told is what the server
shows. Every finding goes to ledger.violation(kind, text); every check
made is counted, so a summary with zero violations also says how much was
looked at.
"""
import calendar
import poplib
import re
import time

from conftest import ssl_ctx
from imapwire import Imap, code, quote, parse_fetch
from ledger import Entry
import messages
import server


def run_all(L, t, sink, final=False):
    verify(L, t)
    for user in server.IMAP_USERS:
        imap_user(L, t, user)
    for user in server.POP_USERS:
        pop3_user(L, t, user)
    remote(L, t, sink, final)
    cli(L, t)


def verify(L, t):
    r = t.cli("verify")
    L.check("tern verify")
    if r.returncode != 0 or " 0 findings" not in r.stdout:
        L.violation("verify", (r.stdout + r.stderr).strip()[:2000])


def select_status(untagged):
    st = {}
    for line, _ in untagged:
        for name in ("UIDVALIDITY", "UIDNEXT", "HIGHESTMODSEQ"):
            c = code(line, name)
            if c:
                st[name] = int(c[0])
        m = re.match(rb"\* (\d+) EXISTS", line)
        if m:
            st["EXISTS"] = int(m.group(1))
    return st


def imap_user(L, t, user):
    m = Imap(t.host, t.port("imaps"))
    try:
        m.ok("LOGIN %s %s" % (quote(user), quote(server.PASSWORD)))
        seen = {}
        for name in server.IMAP_BOXES:
            _, untagged = m.ok("SELECT %s (CONDSTORE)" % quote(name))
            st = select_status(untagged)
            rows = {}
            if st.get("EXISTS"):
                _, fetched = m.ok("UID FETCH 1:* (UID FLAGS MODSEQ BODY.PEEK[])")
                for line, lits in fetched:
                    if b" FETCH " in line:
                        uid, flags, modseq, data = parse_fetch(line, lits)
                        rows[uid] = (flags, modseq, data)
            seen[name] = (st, rows)
        m.ok("LOGOUT")
    finally:
        m.close()
    with L.lock:
        for name in server.IMAP_BOXES:
            st, rows = seen[name]
            mailbox(L, L.box(user, name), st, rows)
        moves(L, user, seen)


def mailbox(L, box, st, rows):
    where = "%s %s" % (box.user, box.name)
    L.check("UIDVALIDITY")
    if st["UIDVALIDITY"] != box.uidvalidity:
        L.violation("uidvalidity", "%s: %d, was %d" % (where, st["UIDVALIDITY"], box.uidvalidity))
        return
    v = box.uidvalidity
    # what is there
    new_entries = {}
    for uid, (flags, modseq, data) in sorted(rows.items()):
        msgid = messages.rel_id(data)
        key = (box.user, box.name, v, uid)
        L.check("UID not reused")
        if key in L.uid_seen and L.uid_seen[key] != msgid:
            L.violation("uid_reuse", "%s UID %d: was %s, now %s" % (where, uid, L.uid_seen[key], msgid))
        L.uid_seen[key] = msgid
        L.check("message bytes")
        sent = L.bodies.get(msgid)
        if sent is None or not messages.same(data, sent):
            L.violation("bytes", "%s UID %d (%s)" % (where, uid, msgid))
        L.check("MODSEQ only grows")
        if modseq is not None and modseq < box.modseq.get(uid, 0):
            L.violation("modseq", "%s UID %d: MODSEQ %d, was %d" % (where, uid, modseq, box.modseq[uid]))
        if modseq is not None:
            box.modseq[uid] = modseq
        e = box.entries.get(uid)
        if e is None:
            e = adopt(L, box, uid, msgid, flags)
            if e is None:
                continue
        elif e.msgid != msgid:
            continue  # reported as uid_reuse above
        L.check("flags as acknowledged")
        if e.flags is not None and flags != e.flags and flags not in e.flag_alts:
            if L.within_lazy_window(e.flags_acked_at):
                L.lazy_lost["STORE flags"] += 1
            else:
                L.violation("flags", "%s UID %d (%s): %s, acknowledged %s"
                            % (where, uid, msgid, sorted(flags), sorted(e.flags)))
        e.flags, e.flag_alts = flags, []
        if e.maybe_gone == "expunge":
            e.maybe_gone = None
        new_entries[uid] = e
    # what should be there
    for uid, e in box.entries.items():
        if e.maybe_gone:
            continue
        L.check("acknowledged message there")
        if uid in rows:
            continue
        L.violation("lost", "%s UID %d (%s)" % (where, uid, e.msgid))
    for c in box.candidates:
        if c[1]:
            L.check("acknowledged message there")
            L.violation("lost", "%s: %s (acknowledged, UID never seen)" % (where, c[0]))
    # moves keep their entry until moves() has looked at both sides
    for uid, e in box.entries.items():
        if e.maybe_gone and e.maybe_gone != "expunge" and uid in rows:
            new_entries[uid] = e
    box.entries = new_entries
    box.candidates = [c for c in box.candidates if c[3]]  # unanswered MOVEs: moves()
    # counters
    L.check("UIDNEXT")
    top = max([box.max_uid] + list(rows))
    if st["UIDNEXT"] < box.uidnext or st["UIDNEXT"] <= top:
        L.violation("uidnext", "%s: UIDNEXT %d, was %d, highest UID known %d"
                    % (where, st["UIDNEXT"], box.uidnext, top))
    box.uidnext, box.max_uid = max(box.uidnext, st["UIDNEXT"]), top
    L.check("HIGHESTMODSEQ")
    hm = st.get("HIGHESTMODSEQ", 0)
    durable = [ms for ms, at in box.lazy_modseqs if not L.within_lazy_window(at)]
    floor = max([box.highestmodseq] + durable + [ms or 0 for _, ms, _ in rows.values()])
    lazy_floor = max([floor] + [ms for ms, _ in box.lazy_modseqs])
    if hm < floor:
        L.violation("highestmodseq", "%s: HIGHESTMODSEQ %d, known %d (was %d)"
                    % (where, hm, floor, box.highestmodseq))
    elif hm < lazy_floor:
        L.lazy_lost["MODSEQ of a STORE/EXPUNGE"] += 1
    box.highestmodseq = max(box.highestmodseq, hm)
    box.lazy_modseqs = []


def adopt(L, box, uid, msgid, flags):
    """A message at a UID the model did not know: an unanswered command's
    (counted as stored unacknowledged), an SMTP delivery's, or nobody's."""
    where = "%s %s" % (box.user, box.name)
    if uid in box.expunged and box.expunged[uid][0] == msgid:
        _, acked_at, how = box.expunged.pop(uid)
        # EXPUNGE is a lazy job; MOVE (copy and expunge in one job) is not
        if how == "EXPUNGE" and L.within_lazy_window(acked_at):
            L.lazy_lost["EXPUNGE"] += 1
        else:
            L.violation("phantom", "%s UID %d (%s) back after an acknowledged %s"
                        % (where, uid, msgid, how))
        e = Entry(msgid, None)
        box.entries[uid] = e
        return e
    for i, c in enumerate(box.candidates):
        if c[0] == msgid:
            cmsgid, acked, cflags, token, what = box.candidates.pop(i)
            if not acked:
                L.found_unacked(what, msgid)
            if token:
                L.resolved_moves[token] = True
            e = Entry(msgid, cflags if acked else None)
            box.entries[uid] = e
            return e
    L.violation("phantom", "%s UID %d (%s): no client sent it here" % (where, uid, msgid))
    return None


def moves(L, user, seen):
    """An unanswered MOVE is all or nothing: the message is in exactly one
    of the two mailboxes."""
    left = []
    for token, src, uid, dst, msgid in L.pending_moves:
        if src[0] != user:
            left.append((token, src, uid, dst, msgid))
            continue
        L.check("unanswered MOVE atomic")
        in_src = uid in seen[src[1]][1]
        in_dst = L.resolved_moves.pop(token, False)
        sbox = L.box(*src)
        if in_src == in_dst:
            L.violation("atomic", "%s: MOVE of %s UID %d to %s: in source %s, in destination %s"
                        % (user, src[1], uid, dst[1], in_src, in_dst))
        e = sbox.entries.get(uid)
        if e is not None and e.maybe_gone == token:
            e.maybe_gone = None
        if not in_src:
            sbox.entries.pop(uid, None)
        dbox = L.box(*dst)
        dbox.candidates = [c for c in dbox.candidates if c[3] != token]
    L.pending_moves = left


def pop3_user(L, t, user):
    p = poplib.POP3_SSL(t.host, t.port("pop3s"), context=ssl_ctx(), timeout=30)
    try:
        p.user(user)
        p.pass_(server.PASSWORD)
        there = {}
        for i in range(1, len(p.list()[1]) + 1):
            data = b"\r\n".join(p.retr(i)[1]) + b"\r\n"
            msgid = messages.rel_id(data)
            there[msgid] = there.get(msgid, 0) + 1
            L.check("message bytes")
            sent = L.bodies.get(msgid)
            if sent is None or not messages.same(data, sent):
                L.violation("bytes", "%s POP3 %d (%s)" % (user, i, msgid))
        p.quit()
    except Exception:
        p.close()
        raise
    with L.lock:
        for msgid, n in there.items():
            if n > 1:
                L.violation("phantom", "%s: %s %d times" % (user, msgid, n))
        for group in L.pop_unanswered_quits[user]:
            L.check("unanswered QUIT atomic")
            applied = [m for m in group if m not in there]
            if applied and len(applied) != len(group):
                L.violation("atomic", "%s: unanswered QUIT applied %d of %d DELEs"
                            % (user, len(applied), len(group)))
            for m in applied:
                L.pop_present[user].discard(m)
                L.pop_deleted[user].add(m)
        L.pop_unanswered_quits[user] = []
        for msgid in list(L.pop_present[user]):
            L.check("acknowledged message there (POP3)")
            if msgid not in there:
                L.violation("lost", "%s maildrop: %s" % (user, msgid))
                L.pop_present[user].discard(msgid)  # reported once
        for msgid in L.pop_deleted[user]:
            L.check("POP3 DELE applied after +OK")
            if msgid in there:
                L.violation("pop3_dele", "%s: %s back after an acknowledged DELE+QUIT" % (user, msgid))
        for msgid in list(L.pop_maybe[user]):
            if msgid in there:
                L.found_unacked("smtp " + msgid.split("-")[2], msgid)
                L.pop_present[user].add(msgid)
        L.pop_maybe[user] = set()
        for msgid in there:
            if msgid not in L.pop_present[user] and msgid not in L.pop_deleted[user]:
                L.violation("phantom", "%s maildrop: %s nobody sent" % (user, msgid))
                L.pop_present[user].add(msgid)


def queued_rcpts(t):
    for attempt in range(5):
        r = t.cli("queue", "list")
        if r.returncode == 0 and r.stdout.startswith("ID "):
            break
        time.sleep(0.2)
    else:
        raise RuntimeError("tern queue list: %d %s" % (r.returncode, (r.stdout + r.stderr)[:500]))
    out = set()
    for line in r.stdout.splitlines():
        m = re.search(r" -> (\S+@\S+)", line)
        if m:
            out.add(m.group(1).lower())
    return out


def recorded_at(log, rcpt):
    """When tern first logged rcpt delivered (epoch seconds), or None."""
    m = re.search(r"^(\S+)Z info queue event=delivered qid=\d+ rcpt=%s " % re.escape(rcpt), log,
                  re.M)
    if not m:
        return None
    return calendar.timegm(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + float(
        "0" + m.group(1)[19:])


def remote(L, t, sink, final):
    """Each acknowledged remote recipient: delivered to the sink (once, or
    twice across a crash: counted) or still in the queue; at the end of the
    campaign, delivered."""
    # the queue before the sink: a row that leaves the queue after this is
    # then at the sink when it is read
    queued = queued_rcpts(t)
    got = {}
    when = {}
    for index, rcpts, data, at, _ in sink.deliveries():
        msgid = messages.rel_id(data)
        when[index] = at
        for r in rcpts:
            got.setdefault((msgid, r.lower()), []).append(index)
            sent = L.bodies.get(msgid)
            if (msgid, r.lower()) not in L.remote_bytes_ok:
                L.check("relayed bytes")
                if sent is None or not messages.same(data, sent):
                    L.violation("bytes", "sink: %s for %s" % (msgid, r))
                L.remote_bytes_ok.add((msgid, r.lower()))
    log = t.logs()
    with L.lock:
        for (msgid, rcpt), acked in L.remote.items():
            n = got.get((msgid, rcpt.lower()), [])
            if len(n) > 1 and (msgid, rcpt) not in L.dups_seen:
                L.dups_seen.add((msgid, rcpt))
                # allowed: a kill after the sink's 250 and before tern
                # recorded it. tern logs "event=delivered qid= rcpt=" after
                # the record is committed: such a line before the second
                # delivery means it was sent again after it was recorded.
                first, k = when[n[0]], sink.epoch(n[0])
                rec = recorded_at(log, rcpt)
                if rec is not None and rec < when[n[1]]:
                    L.violation("remote_dup", "%s to %s: delivered again %.2f s after tern "
                                "logged it delivered" % (msgid, rcpt, when[n[1]] - rec))
                elif sink.epoch(n[0]) < sink.epoch(n[-1]):
                    L.crash_duplicates += 1
                    if k < len(L.kill_times):
                        L.dup_max_gap = max(L.dup_max_gap, L.kill_times[k] - first)
                else:
                    L.violation("remote_dup", "%s to %s delivered %d times between two kills"
                                % (msgid, rcpt, len(n)))
            if not acked:
                if n:
                    L.found_unacked("relayed to the sink", msgid)
                continue
            L.check("remote delivered or queued")
            missing = not n and (final or rcpt.lower() not in queued)
            if missing and (msgid, rcpt) not in L.remote_reported:
                L.remote_reported.add((msgid, rcpt))  # reported once
                L.violation("remote", "%s to %s: %s" % (msgid, rcpt, "never delivered" if final
                                                          else "not delivered, not queued"))


def cli(L, t):
    users = set(t.cli("user", "list").stdout.split())
    aliases = set(line.split(" -> ")[0].strip() for line in t.cli("alias", "list").stdout.splitlines())
    with L.lock:
        for table, there in ((L.cli_users, users), (L.cli_aliases, aliases)):
            for name, present in table.items():
                if present is None:  # a CLI killed by the power cut: either
                    table[name] = name in there
                    continue
                L.check("CLI change persisted")
                if present != (name in there):
                    L.violation("cli", "%s %s" % (name, "missing" if present else "still there"))
                    table[name] = name in there
