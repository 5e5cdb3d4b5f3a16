"""SMTP load: mx senders to local users (and an alias), submission senders
with AUTH to local users and to remote.test, which the queue relays to the
sink. A 250 after DATA is an acknowledgement; DATA sent and no reply is an
unanswered attempt (the message may or may not be there)."""
import smtplib

from conftest import ssl_ctx
from driver import Driver
import messages
import server


def final_users(rcpts):
    return [server.POP_USERS[1] if r == server.ALIAS else r for r in rcpts]


class MxSender(Driver):
    name_prefix = "mx"

    def session(self):
        with smtplib.SMTP(self.t.host, self.t.port("smtp"), timeout=15) as s:
            for _ in range(self.rng.randrange(1, 4)):
                if self.stopping.is_set():
                    return
                locals_ = server.IMAP_USERS + server.POP_USERS + [server.ALIAS]
                rcpts = self.rng.sample(locals_, self.rng.randrange(1, 4))
                self.send(s, "someone@sender.example", rcpts, 0, "mx")

    def send(self, s, frm, rcpts, n_remote, what):
        msgid = self.ledger.next_id(what)
        # a recipient of its own per message: the queue listing names it
        remote = ["%s-%d@%s" % (msgid, k, server.REMOTE) for k in range(n_remote)]
        body = messages.make(self.rng, msgid, frm, rcpts + remote)
        with self.ledger.lock:
            self.ledger.bodies[msgid] = body
        s.ehlo_or_helo_if_needed()
        code, resp = s.mail(frm)
        if code != 250:
            raise smtplib.SMTPResponseException(code, resp)
        for r in rcpts + remote:
            code, resp = s.rcpt(r)
            if code != 250:
                raise smtplib.SMTPResponseException(code, resp)
        try:
            code, resp = s.data(body)
        except (OSError, smtplib.SMTPServerDisconnected):
            self.record(msgid, rcpts, remote, what, False)
            raise
        if code != 250:
            # refused: nothing may be stored, but say so rather than assume
            self.record(msgid, rcpts, remote, what, False)
            raise smtplib.SMTPResponseException(code, resp)
        self.record(msgid, rcpts, remote, what, True)

    def record(self, msgid, rcpts, remote, what, acked):
        L = self.ledger
        with L.lock:
            (L.acked if acked else L.unanswered)["smtp " + what] += 1
            L.expect_local(msgid, final_users(rcpts), acked)
            for r in remote:
                L.remote[(msgid, r)] = acked


class SubmissionSender(MxSender):
    name_prefix = "submission"

    def session(self):
        with smtplib.SMTP_SSL(self.t.host, self.t.port("submissions"), context=ssl_ctx(),
                              timeout=15) as s:
            s.login(server.SENDER, server.PASSWORD)
            for _ in range(self.rng.randrange(1, 4)):
                if self.stopping.is_set():
                    return
                locals_ = server.IMAP_USERS + server.POP_USERS
                rcpts = self.rng.sample(locals_, self.rng.randrange(0, 3))
                self.send(s, server.SENDER, rcpts, self.rng.randrange(1, 3), "submission")
