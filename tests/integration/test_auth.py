"""Authentication: constant cost for unknown users, per-network throttling
with a growing delay, guesses counted when they start, a per-account budget
that slows attackers rotating addresses but not the account's owner, and
secrets never reaching the log. Driven through SMTP AUTH on the
implicit-TLS submission port, as a mail client would."""
import base64
import concurrent.futures
import http.client
import smtplib
import statistics
import time

from conftest import ssl_ctx

LISTENERS = [("submissions", "submission", "implicit")]
PASSWORD = "Tr0ub4dor&3-horse"


def attempt(t, user, password, source=None):
    """One AUTH PLAIN, from the loopback address source if given; returns
    (code, seconds)."""
    with smtplib.SMTP_SSL(t.host, t.port("submissions"), context=ssl_ctx(), timeout=60,
                          source_address=(source, 0) if source else None) as s:
        s.ehlo("client.test")
        blob = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        start = time.monotonic()
        code, _ = s.docmd("AUTH", "PLAIN " + blob)
        return code, time.monotonic() - start


def test_unknown_user_costs_the_same_as_a_wrong_password(tern_factory):
    t = tern_factory(listeners=LISTENERS,
                     auth={"fail_delay_ms": 0, "fail_max_delay_ms": 0, "fail_limit": 1000})
    t.add_user("alice@example.test", PASSWORD)
    wrong, unknown = [], []
    for _ in range(5):
        code, dt = attempt(t, "alice@example.test", "not the password")
        assert code == 535
        wrong.append(dt)
        code, dt = attempt(t, "nobody@example.test", "not the password")
        assert code == 535
        unknown.append(dt)
    w, u = statistics.median(wrong), statistics.median(unknown)
    # Both run a yescrypt hash; neither is an early return.
    assert u > 0.004, "an unknown user must cost a hash, took %.4fs" % u
    assert 0.4 < u / w < 2.5, "wrong=%.4fs unknown=%.4fs" % (w, u)
    code, _ = attempt(t, "alice@example.test", PASSWORD)
    assert code == 235


def test_failures_are_throttled_per_ip(tern_factory):
    t = tern_factory(listeners=LISTENERS,
                     auth={"fail_delay_ms": 100, "fail_max_delay_ms": 400, "fail_limit": 4})
    t.add_user("bob@example.test", PASSWORD)
    delays = []
    for _ in range(4):
        code, dt = attempt(t, "bob@example.test", "wrong")
        assert code == 535
        delays.append(dt)
    # The delay grows with each failure (100, 200, 400, 400 ms + hashing).
    assert delays[0] >= 0.09 and delays[2] >= 0.35, delays
    assert delays[2] > delays[0]
    # Past the limit even the right password is refused, temporarily.
    code, _ = attempt(t, "bob@example.test", PASSWORD)
    assert code == 454
    assert "event=auth_throttled" in t.logs()


def test_parallel_guesses_count_when_they_start(tern_factory):
    """150 guesses at once from one address with fail_limit = 20: exactly 20
    password checks run, the others are refused before hashing (they used
    to be counted only when their check failed, so 83 ran)."""
    t = tern_factory(listeners=LISTENERS,
                     auth={"fail_delay_ms": 0, "fail_max_delay_ms": 0, "fail_limit": 20,
                           "account_fail_limit": 100000})
    t.add_user("dan@example.test", PASSWORD)
    with concurrent.futures.ThreadPoolExecutor(max_workers=150) as pool:
        codes = list(pool.map(lambda _: attempt(t, "dan@example.test", "guess")[0],
                              range(150)))
    assert codes.count(535) == 20, sorted(set(codes))
    assert codes.count(454) == 130
    assert t.logs().count("event=auth_throttled") == 130


def test_rotating_addresses_slow_the_account_not_its_owner(tern_factory):
    """100 guesses against one account, each from another address: past the
    account's budget they are refused (one per interval gets through),
    while the owner, from the address it logged in from before, still
    logs in at once."""
    t = tern_factory(listeners=LISTENERS,
                     auth={"fail_delay_ms": 0, "fail_max_delay_ms": 0, "fail_limit": 20,
                           "account_fail_limit": 5, "account_fail_interval_ms": 600000})
    t.add_user("erin@example.test", PASSWORD)
    assert attempt(t, "erin@example.test", PASSWORD, source="127.0.0.1")[0] == 235
    codes = [attempt(t, "erin@example.test", "guess%d" % i, source="127.0.1.%d" % (i + 1))[0]
             for i in range(100)]
    assert codes.count(535) == 6, codes  # the budget, then one per interval
    assert codes.count(454) == 94
    assert "by=account" in t.logs()
    code, dt = attempt(t, "erin@example.test", PASSWORD, source="127.0.0.1")
    assert code == 235 and dt < 2, (code, dt)
    # Another account is not affected.
    t.add_user("fay@example.test", PASSWORD)
    assert attempt(t, "fay@example.test", PASSWORD, source="127.0.2.1")[0] == 235


def test_secrets_never_logged(tern_factory):
    t = tern_factory(listeners=LISTENERS)
    t.add_user("carol@example.test", PASSWORD)
    assert attempt(t, "carol@example.test", PASSWORD)[0] == 235
    assert attempt(t, "carol@example.test", "Wr0ng-Secret-Value")[0] == 535
    with smtplib.SMTP_SSL(t.host, t.port("submissions"), context=ssl_ctx(), timeout=30) as s:
        s.login("carol@example.test", PASSWORD)  # AUTH LOGIN or PLAIN, smtplib's choice
    t.stop()
    log = t.logs()
    assert "carol@example.test" in log  # the user name may be logged...
    for secret in (PASSWORD, "Wr0ng-Secret-Value"):
        assert secret not in log  # ...the password never
        assert base64.b64encode(secret.encode()).decode()[:12] not in log
        blob = base64.b64encode(b"\0carol@example.test\0" + secret.encode()).decode()
        assert blob[:24] not in log


# ---- the verified-credentials cache ----

WEB = LISTENERS + [("https", "http", "implicit")]


def counters(t):
    """(password hashes computed, cache hits) from /metrics."""
    c = http.client.HTTPSConnection(t.host, t.port("https"), context=ssl_ctx(), timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    got = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ("tern_auth_hashes_total", "tern_auth_cache_hits_total"):
            got[name] = int(float(value))
    return got["tern_auth_hashes_total"], got["tern_auth_cache_hits_total"]


def cached_server(tern_factory, **auth):
    settings = {"fail_delay_ms": 0, "fail_max_delay_ms": 0, "fail_limit": 1000}
    settings.update(auth)
    return tern_factory(listeners=WEB, auth=settings)


def test_second_login_is_not_hashed_again(tern_factory):
    t = cached_server(tern_factory)
    t.add_user("gus@example.test", PASSWORD)
    assert counters(t) == (0, 0)
    code, first = attempt(t, "gus@example.test", PASSWORD)
    assert code == 235 and counters(t) == (1, 0)
    again = []
    for _ in range(5):
        code, dt = attempt(t, "gus@example.test", PASSWORD)
        assert code == 235
        again.append(dt)
    assert counters(t) == (1, 5)
    # yescrypt's tens of milliseconds are gone from the answer.
    assert statistics.median(again) < first, (first, again)
    # A bare local part is the same account: still cached.
    assert attempt(t, "gus", PASSWORD)[0] == 235
    assert counters(t) == (1, 6)
    # A wrong password after a cached success is hashed and refused.
    assert attempt(t, "gus@example.test", PASSWORD + "x")[0] == 535
    assert counters(t) == (2, 6)
    # ...and the right one still hits: a guess does not evict it.
    assert attempt(t, "gus@example.test", PASSWORD)[0] == 235
    assert counters(t) == (2, 7)


def test_cached_password_does_not_skip_the_throttle(tern_factory):
    t = cached_server(tern_factory, fail_delay_ms=100, fail_max_delay_ms=400, fail_limit=3)
    t.add_user("hal@example.test", PASSWORD)
    assert attempt(t, "hal@example.test", PASSWORD)[0] == 235
    assert attempt(t, "hal@example.test", PASSWORD)[0] == 235
    hashes, hits = counters(t)
    assert hits == 1
    for i in range(3):
        code, dt = attempt(t, "hal@example.test", "guess%d" % i)
        assert code == 535 and dt >= 0.09, (code, dt)  # delayed as ever
    assert counters(t) == (hashes + 3, hits)  # every guess hashed
    # Past the network's limit the cached password is refused too: a hit
    # is an attempt like any other.
    assert attempt(t, "hal@example.test", PASSWORD)[0] == 454
    assert counters(t) == (hashes + 3, hits)


def test_cli_password_change_invalidates_at_once(tern_factory):
    t = cached_server(tern_factory)
    t.add_user("ida@example.test", PASSWORD)
    assert attempt(t, "ida@example.test", PASSWORD)[0] == 235
    assert attempt(t, "ida@example.test", PASSWORD)[0] == 235
    assert counters(t) == (1, 1)
    new = "a-new-Passw0rd"
    r = t.cli("user", "passwd", "ida@example.test", "--password-stdin", input=new + "\n")
    assert r.returncode == 0, r.stderr
    assert attempt(t, "ida@example.test", PASSWORD)[0] == 535  # at once: no wait, no restart
    assert attempt(t, "ida@example.test", new)[0] == 235
    assert attempt(t, "ida@example.test", new)[0] == 235
    assert counters(t) == (3, 2)
    assert attempt(t, "ida@example.test", PASSWORD)[0] == 535


def test_disable_and_delete_invalidate_at_once(tern_factory):
    t = cached_server(tern_factory)
    t.add_user("jo@example.test", PASSWORD)
    assert attempt(t, "jo@example.test", PASSWORD)[0] == 235
    assert attempt(t, "jo@example.test", PASSWORD)[0] == 235
    assert counters(t)[1] == 1
    # Disabled by another process (the CLI has no disable command; the
    # admin tools write the same column).
    with t.db() as db:
        db.execute("UPDATE accounts SET disabled = 1 WHERE address = 'jo@example.test'")
    assert attempt(t, "jo@example.test", PASSWORD)[0] == 535
    with t.db() as db:
        db.execute("UPDATE accounts SET disabled = 0 WHERE address = 'jo@example.test'")
    hashes, hits = counters(t)
    assert attempt(t, "jo@example.test", PASSWORD)[0] == 235
    assert counters(t) == (hashes + 1, hits)  # the entry went with the disable
    assert attempt(t, "jo@example.test", PASSWORD)[0] == 235
    assert counters(t) == (hashes + 1, hits + 1)
    r = t.cli("user", "del", "jo@example.test")
    assert r.returncode == 0, r.stderr
    assert attempt(t, "jo@example.test", PASSWORD)[0] == 535
    # Created again with the same password: a new hash (new salt), hashed.
    t.add_user("jo@example.test", PASSWORD)
    hashes, hits = counters(t)
    assert attempt(t, "jo@example.test", PASSWORD)[0] == 235
    assert counters(t) == (hashes + 1, hits)


def test_cache_ttl_and_bound(tern_factory):
    # A TTL long enough that the LRU checks below, a few hashes on a loaded
    # machine, all happen within it (1 s was not, with both cores busy).
    t = cached_server(tern_factory, cache_ttl=4, cache_size=2)
    for u in ("kim", "lou", "max"):
        t.add_user(u + "@example.test", PASSWORD)
    assert attempt(t, "kim@example.test", PASSWORD)[0] == 235
    assert attempt(t, "kim@example.test", PASSWORD)[0] == 235
    assert counters(t) == (1, 1)
    time.sleep(4.2)  # past the TTL: hashed again
    assert attempt(t, "kim@example.test", PASSWORD)[0] == 235
    assert counters(t) == (2, 1)
    # Two entries at most: the least recently used goes.
    assert attempt(t, "lou@example.test", PASSWORD)[0] == 235
    assert attempt(t, "max@example.test", PASSWORD)[0] == 235  # evicts kim
    assert counters(t) == (4, 1)
    assert attempt(t, "max@example.test", PASSWORD)[0] == 235
    assert attempt(t, "lou@example.test", PASSWORD)[0] == 235
    assert counters(t) == (4, 3)
    assert attempt(t, "kim@example.test", PASSWORD)[0] == 235
    assert counters(t) == (5, 3)


def test_cache_off(tern_factory):
    t = cached_server(tern_factory, cache_ttl=0)
    t.add_user("ned@example.test", PASSWORD)
    for _ in range(3):
        assert attempt(t, "ned@example.test", PASSWORD)[0] == 235
    assert counters(t) == (3, 0)
