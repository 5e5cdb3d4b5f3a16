"""IMAP load: one client per IMAP user doing APPEND, STORE, COPY, MOVE and
UID EXPUNGE on the messages the ledger knows (its own and the SMTP ones the
checks found), and one more per user sitting in IDLE.

Each user has a single writing client, so the expected state of its
mailboxes follows from the answers alone: APPENDUID and COPYUID say where a
message is, a STORE's FLAGS say what its flags are. An unanswered command
leaves alternatives that the next check resolves by what it sees.
"""
from driver import Driver
from imapwire import Imap, code, quote, uid_set, parse_fetch
from ledger import Entry
import messages
import server

FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "$Label1", "$Label2"]


class ImapWriter(Driver):
    name_prefix = "imap"

    def __init__(self, ledger, t, seed, index):
        super().__init__(ledger, t, seed, index)
        self.user = server.IMAP_USERS[index % len(server.IMAP_USERS)]

    def session(self):
        m = Imap(self.t.host, self.t.port("imaps"))
        try:
            m.ok("LOGIN %s %s" % (quote(self.user), quote(server.PASSWORD)))
            self.selected = None
            while not self.stopping.is_set():
                self.one_op(m)
        finally:
            m.close()

    def select(self, m, name):
        if self.selected != name:
            m.ok("SELECT %s (CONDSTORE)" % quote(name))
            self.selected = name

    def pick(self, box):
        """A UID of box whose presence is certain, or None."""
        with self.ledger.lock:
            uids = [u for u, e in box.entries.items() if e.certain and e.maybe_gone is None]
        return self.rng.choice(sorted(uids)) if uids else None

    def one_op(self, m):
        L = self.ledger
        name = self.rng.choice(server.IMAP_BOXES)
        box = L.box(self.user, name)
        crowded = len(box.entries) > 30
        op = self.rng.choices(["append", "store", "copy", "move", "expunge", "noop"],
                              [4, 4, 2, 2, 6 if crowded else 1, 1])[0]
        if op == "append":
            return self.append(m, box)
        if op == "noop":
            return m.ok("NOOP")
        self.select(m, name)
        uid = self.pick(box)
        if uid is None:
            return self.append(m, box)
        if op == "store":
            self.store(m, box, uid)
        elif op in ("copy", "move"):
            dest = L.box(self.user, self.rng.choice([b for b in server.IMAP_BOXES if b != name]))
            self.copy(m, box, uid, dest, op)
        elif crowded:
            # keep mailboxes small enough for the checks to read whole
            with L.lock:
                uids = sorted(u for u, e in box.entries.items()
                              if e.certain and e.maybe_gone is None)
            self.expunge(m, box, self.rng.sample(uids, min(len(uids), self.rng.randrange(5, 30))))
        else:
            self.expunge(m, box, [uid])

    def append(self, m, box):
        L = self.ledger
        msgid = L.next_id("append")
        body = messages.make(self.rng, msgid, self.user, [self.user])
        flags = frozenset(self.rng.sample(FLAGS, self.rng.randrange(0, 3)))
        with L.lock:
            L.bodies[msgid] = body
        try:
            status, line, _ = m.command("APPEND %s (%s)" % (quote(box.name), " ".join(sorted(flags))),
                                        body)
        except ConnectionError:
            with L.lock:
                L.unanswered["imap APPEND"] += 1
                box.candidates.append([msgid, False, flags, None, "APPEND"])
            raise
        if status != "OK":
            L.refused("imap APPEND", line.decode("utf-8", "replace"))
            return
        v, uid = (int(x) for x in code(line, "APPENDUID"))
        with L.lock:
            L.acked["imap APPEND"] += 1
            if v != box.uidvalidity:
                L.violation("uidvalidity", "%s %s: APPENDUID %d, known %d"
                            % (self.user, box.name, v, box.uidvalidity))
            box.entries[uid] = Entry(msgid, flags)
            box.max_uid = max(box.max_uid, uid)

    def store(self, m, box, uid):
        L = self.ledger
        e = box.entries[uid]
        flags = frozenset(self.rng.sample(FLAGS, self.rng.randrange(0, 4)))
        try:
            status, line, untagged = m.command("UID STORE %d FLAGS (%s)" % (uid, " ".join(sorted(flags))))
        except ConnectionError:
            with L.lock:
                L.unanswered["imap STORE"] += 1
                e.flag_alts.append(flags)
            raise
        if status != "OK":
            L.refused("imap STORE", line.decode("utf-8", "replace"))
            return
        with L.lock:
            L.acked["imap STORE"] += 1
            e.flags, e.flag_alts, e.flags_acked_at = flags, [], L.now()
            for ln, lits in untagged:
                u, _, modseq, _ = parse_fetch(ln, lits)
                if u == uid and modseq:
                    box.lazy_modseqs.append((modseq, L.now()))  # a lazy job's

    def copy(self, m, box, uid, dest, op):
        L = self.ledger
        e = box.entries[uid]
        verb = op.upper()
        token = "%s-%d-%s-%d" % (op, L.cycle, box.name, uid)
        try:
            status, line, untagged = m.command("UID %s %d %s" % (verb, uid, quote(dest.name)))
        except ConnectionError:
            with L.lock:
                L.unanswered["imap " + verb] += 1
                dest.candidates.append([e.msgid, False, None, token if op == "move" else None, verb])
                if op == "move":
                    e.maybe_gone = token
                    L.pending_moves.append((token, (box.user, box.name), uid,
                                            (dest.user, dest.name), e.msgid))
            raise
        if status != "OK":
            L.refused("imap " + verb, line.decode("utf-8", "replace"))
            return
        cu = code(line, "COPYUID")
        for ln, _ in untagged:
            cu = cu or code(ln, "COPYUID")
        v, dst = int(cu[0]), uid_set(cu[2])  # one source UID: its one destination
        with L.lock:
            L.acked["imap " + verb] += 1
            if v != dest.uidvalidity:
                L.violation("uidvalidity", "%s %s: COPYUID %d, known %d"
                            % (box.user, dest.name, v, dest.uidvalidity))
            known = e.flags if not e.flag_alts else None
            dest.entries[dst[0]] = Entry(e.msgid, known)
            dest.max_uid = max(dest.max_uid, dst[0])
            if op == "move":
                del box.entries[uid]
                box.expunged[uid] = (e.msgid, L.now(), "MOVE")

    def expunge(self, m, box, uids):
        """UID STORE +FLAGS (\\Deleted), then UID EXPUNGE of those UIDs."""
        L = self.ledger
        es = [box.entries[u] for u in uids]
        uidset = ",".join(str(u) for u in uids)
        try:
            status, line, _ = m.command("UID STORE %s +FLAGS.SILENT (\\Deleted)" % uidset)
        except ConnectionError:
            with L.lock:
                L.unanswered["imap STORE"] += 1
                for e in es:
                    base = e.flags if e.flags is not None else frozenset()
                    e.flag_alts.append(base | {"\\Deleted"})
            raise
        if status != "OK":
            return L.refused("imap STORE", line.decode("utf-8", "replace"))
        with L.lock:
            L.acked["imap STORE"] += 1
            for e in es:
                if e.flags is not None and not e.flag_alts:
                    e.flags = e.flags | {"\\Deleted"}
                    e.flags_acked_at = L.now()
                else:
                    e.flags, e.flag_alts = None, []
        try:
            status, line, _ = m.command("UID EXPUNGE %s" % uidset)
        except ConnectionError:
            with L.lock:
                L.unanswered["imap EXPUNGE"] += 1
                for e in es:
                    e.maybe_gone = "expunge"
            raise
        if status != "OK":
            return L.refused("imap EXPUNGE", line.decode("utf-8", "replace"))
        with L.lock:
            L.acked["imap EXPUNGE"] += 1
            for u, e in zip(uids, es):
                del box.entries[u]
                box.expunged[u] = (e.msgid, L.now(), "EXPUNGE")
            hm = code(line, "HIGHESTMODSEQ")
            if hm:
                box.lazy_modseqs.append((int(hm[0]), L.now()))


class ImapIdler(Driver):
    """Sits in IDLE on INBOX (notifications of every delivery and change)."""
    name_prefix = "idle"

    def session(self):
        user = server.IMAP_USERS[self.index % len(server.IMAP_USERS)]
        m = Imap(self.t.host, self.t.port("imaps"))
        try:
            m.ok("LOGIN %s %s" % (quote(user), quote(server.PASSWORD)))
            m.ok("SELECT INBOX (CONDSTORE)")
            while not self.stopping.is_set():
                m.idle(self.rng.uniform(0.2, 1.5))
        finally:
            m.close()
