"""What the clients were told, and what they only asked: the runner's memory.

Every driver writes here what tern acknowledged (and when) and what it sent
without getting an answer; the checks after each restart compare what the
server shows against it and record violations and the counts the summary
prints. One lock guards it all: the drivers are threads, and the checks run
only while no driver does.
"""
import collections
import threading
import time

# Flag changes and expunges are lazy jobs (docs/design.md "Lazy jobs"):
# durable within 200 ms. Their loss within that window before a kill is
# counted apart, never as a violation; anything older is a violation.
LAZY_WINDOW = 0.2

INVARIANTS = [
    ("lost", "acknowledged message missing"),
    ("bytes", "message bytes differ from what was acknowledged"),
    ("phantom", "message nobody sent (or expunged one back)"),
    ("uid_reuse", "UID reused in a mailbox with the same UIDVALIDITY"),
    ("uidvalidity", "UIDVALIDITY changed"),
    ("uidnext", "UIDNEXT went backwards or not past a known UID"),
    ("highestmodseq", "HIGHESTMODSEQ went backwards or below a known MODSEQ"),
    ("modseq", "a message's MODSEQ went backwards"),
    ("flags", "acknowledged flags lost (outside the lazy window)"),
    ("atomic", "unanswered MOVE/QUIT half applied"),
    ("pop3_dele", "POP3 DELE applied without +OK to QUIT, or not applied after it"),
    ("remote", "remote message neither delivered nor queued"),
    ("remote_dup", "remote message delivered twice with no crash between"),
    ("cli", "acknowledged user/alias change missing"),
    ("verify", "tern verify found something"),
    ("server", "tern did not restart or answer the checks"),
    ("soak", "RSS, descriptors, WAL or loop latency not flat in the soak"),
    ("flood", "9,000 connections not held, or a new client's greeting over its bar"),
    ("faults", "injected store failure: no temporary error, half-written, or no service after"),
]


class Entry:
    """A message at a known UID in a mailbox the model follows."""

    def __init__(self, msgid, flags=None, certain=True):
        self.msgid = msgid
        self.flags = flags  # frozenset, or None: not known yet (take what is seen)
        self.flag_alts = []  # flag sets an unanswered STORE may have left
        self.flags_acked_at = 0.0
        self.certain = certain  # must be there
        self.maybe_gone = None  # token of an unanswered EXPUNGE/MOVE
        self.gone_acked_at = None


class Mailbox:
    def __init__(self, user, name, uidvalidity):
        self.user, self.name, self.uidvalidity = user, name, uidvalidity
        self.entries = {}  # uid -> Entry
        self.expunged = {}  # uid -> (msgid, time acknowledged, "EXPUNGE" or "MOVE")
        # [msgid, acked, flags, token, what]: may appear at an unknown UID
        self.candidates = []
        self.max_uid = 0
        self.uidnext = 0
        self.highestmodseq = 0
        # MODSEQs told by STORE and EXPUNGE answers, with when: both are lazy
        # jobs, so a MODSEQ told within the window before a kill may be lost
        self.lazy_modseqs = []
        self.modseq = {}  # uid -> last MODSEQ seen


class Ledger:
    def __init__(self):
        self.lock = threading.RLock()
        self.bodies = {}  # msgid -> the exact bytes sent
        self.acked = collections.Counter()  # what -> acknowledged operations
        self.unanswered = collections.Counter()  # what -> sent without an answer
        self.stored_unacked = collections.Counter()  # what -> found although unanswered
        self.lazy_lost = collections.Counter()  # flags / expunge lost within the window
        self.checks = collections.Counter()
        self.violations = collections.defaultdict(list)
        self.boxes = {}  # (user, name) -> Mailbox
        self.uid_seen = {}  # (user, name, uidvalidity, uid) -> msgid
        self.pending_moves = []  # (token, src key, uid, dst key, msgid)
        # POP3: user -> msgids that must be there / must never be there again
        self.pop_present = collections.defaultdict(set)
        self.pop_maybe = collections.defaultdict(set)  # unanswered SMTP
        self.pop_deleted = collections.defaultdict(set)
        self.pop_unanswered_quits = collections.defaultdict(list)  # user -> [set]
        # remote: (msgid, rcpt) -> acknowledged?; the sink counts deliveries
        self.remote = {}
        # CLI: name -> expected presence (True/False), None when unanswered
        self.cli_users = {}
        self.cli_aliases = {}
        self.killing = False  # set just before each SIGKILL
        self.kill_times = []  # time of each SIGKILL, taken just before it is sent
        self.cycle = 0
        self.serial = 0
        self.resolved_moves = {}  # token -> the destination showed the message
        self.remote_bytes_ok = set()
        self.unacked_seen = set()
        self.dups_seen = set()
        self.remote_reported = set()
        self.crash_duplicates = 0
        self.dup_max_gap = 0.0  # seconds from a duplicate's first 250 to the kill
        self.notes = []  # things worth reading that are not violations

    def next_id(self, what):
        with self.lock:
            self.serial += 1
            return "rel-c%d-%s-%d" % (self.cycle, what, self.serial)

    def violation(self, kind, text):
        with self.lock:
            self.violations[kind].append("cycle %d: %s" % (self.cycle, text))

    def check(self, kind, n=1):
        with self.lock:
            self.checks[kind] += n

    def box(self, user, name):
        return self.boxes[(user, name)]

    def last_kill(self):
        return self.kill_times[-1] if self.kill_times else 0.0

    def within_lazy_window(self, acked_at):
        """Was something acknowledged at acked_at within the lazy window
        before the last kill (or after the signal was sent)?"""
        return bool(acked_at) and acked_at >= self.last_kill() - LAZY_WINDOW

    def total_violations(self):
        return sum(len(v) for v in self.violations.values())

    def now(self):
        return time.time()

    def expect_local(self, msgid, users, acked):
        """A message sent by SMTP to these (final) local users: with a 250 it
        must be in each one's INBOX or maildrop; without, it may be."""
        with self.lock:
            for u in set(users):
                if (u, "INBOX") in self.boxes:
                    self.boxes[(u, "INBOX")].candidates.append([msgid, acked, None, None,
                                                                "smtp " + msgid.split("-")[2]])
                elif msgid in self.pop_deleted[u]:
                    # a POP3 client took and deleted it between the 250 and
                    # this line of the sender's thread
                    continue
                elif acked:
                    self.pop_present[u].add(msgid)
                else:
                    self.pop_maybe[u].add(msgid)

    def found_unacked(self, what, msgid):
        """A message stored although its client got no answer (once per
        message and operation, whatever the number of recipients)."""
        with self.lock:
            if (what, msgid) not in self.unacked_seen:
                self.unacked_seen.add((what, msgid))
                self.stored_unacked[what] += 1

    def refused(self, what, text):
        """A command tern refused while it was up: counted, first ones kept."""
        with self.lock:
            self.unanswered["refused " + what] += 1
            if self.unanswered["refused " + what] <= 3:
                self.notes.append("cycle %d: %s refused: %s" % (self.cycle, what, text[:200]))
