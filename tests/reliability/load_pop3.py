"""POP3 load: one client per POP3 user: UIDL, RETR of some messages (their
bytes are compared on the spot), DELE of some, QUIT. The DELEs count only
with +OK to QUIT (RFC 1939's UPDATE state); a QUIT sent without an answer
leaves them all applied or none."""
import poplib

from conftest import ssl_ctx
from driver import Driver
import messages
import server


class Pop3Client(Driver):
    name_prefix = "pop3"

    def session(self):
        L = self.ledger
        user = server.POP_USERS[self.index % len(server.POP_USERS)]
        p = poplib.POP3_SSL(self.t.host, self.t.port("pop3s"), context=ssl_ctx(), timeout=15)
        deleted = set()
        quit_sent = False
        try:
            p.user(user)
            p.pass_(server.PASSWORD)
            n = len(p.uidl()[1])
            # a crowded maildrop is mostly emptied: the checks RETR it whole
            k = self.rng.randrange(20, 60) if n > 40 else self.rng.randrange(1, 8)
            for i in self.rng.sample(range(1, n + 1), min(n, k)):
                if self.stopping.is_set():
                    break
                data = b"\r\n".join(p.retr(i)[1]) + b"\r\n"
                msgid = messages.rel_id(data)
                with L.lock:
                    L.checks["pop3 RETR bytes (under load)"] += 1
                    sent = L.bodies.get(msgid)
                if sent is None or not messages.same(data, sent):
                    L.violation("bytes", "%s RETR %d: %s" % (user, i, msgid or data[:80]))
                if self.rng.random() < (0.9 if n > 40 else 0.6):
                    p.dele(i)
                    deleted.add(msgid)
            quit_sent = True
            p.quit()
        except Exception:
            if quit_sent and deleted:
                with L.lock:
                    L.unanswered["pop3 QUIT"] += 1
                    L.pop_unanswered_quits[user].append(frozenset(deleted))
            p.close()
            raise
        with L.lock:
            L.acked["pop3 QUIT"] += 1
            L.acked["pop3 DELE"] += len(deleted)
            L.pop_deleted[user] |= deleted
            L.pop_present[user] -= deleted
            L.pop_maybe[user] -= deleted
        self.stopping.wait(self.rng.uniform(0, 0.3))
