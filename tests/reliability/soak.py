"""The soak: the crash cycles' clients at a steady rate well below
saturation for a long time (30 minutes by default), with no kill, while a
sampler records what would betray a slow leak or a growing backlog:

  - tern's RSS (/proc/PID/status VmRSS) and open descriptors
    (/proc/PID/fd), and how much of the RSS is the store's page caches
    (/metrics' tern_store_cache_bytes: they grow with the data read, up to
    cache_size, 32 MiB per connection, and are not a leak);
  - the size of the WAL (tern.db-wal): checkpoints must keep it bounded;
  - the loop's latency as a client sees it: a probe connection sends an
    IMAP NOOP every 200 ms and times the tagged OK; each sample keeps the
    p99 of its window.

Every driver pauses between sessions (--soak-pause, 1 s) so that the load
is steady rather than as fast as possible. At the end the queue is
drained and the crash cycles' invariant checks run once over everything
the clients were told (nothing lost, UIDs, MODSEQs, the sink's counts).

Flat means, over the samples after the warm-up (the first fifth, at least
a minute: caches fill, the first checkpoints settle): the least-squares
slope of the RSS less the page caches, and that of the live heap less the
page caches (/metrics' tern_heap_in_use_bytes, malloc's own count, where
glibc gives it: the RSS also holds memory malloc keeps after a free, so
this one tells a leak from a high-water mark), each project to less than
max(10 % of its mean, 4 MiB) of growth over that span; of descriptors, less than 10; the WAL's largest size in
the last third is at most 1.5x that of the first third plus 1 MiB; the
median of the windows' NOOP p99 in the last third is at most twice that
of the first third plus 5 ms. A quantity that is not flat is a
violation ("soak").

The samples go to soak.csv and, where python3-matplotlib is installed, to
soak.png (four plots against minutes) in --out.
"""
import csv
import os
import urllib.request
import statistics
import threading
import time

from imapwire import Imap, quote
import server

SAMPLE_EVERY = 5.0
PROBE_EVERY = 0.2


class Probe(threading.Thread):
    """One IMAP session that times a NOOP every PROBE_EVERY seconds."""

    def __init__(self, t):
        super().__init__(daemon=True, name="soak-probe")
        self.t = t
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.window = []
        self.errors = 0

    def run(self):
        m = None
        while not self.stop.is_set():
            try:
                if m is None:
                    m = Imap(self.t.host, self.t.port("imaps"))
                    m.ok("LOGIN %s %s" % (quote(server.IMAP_USERS[0]), quote(server.PASSWORD)))
                    m.ok("SELECT INBOX")
                began = time.monotonic()
                m.ok("NOOP")
                took = (time.monotonic() - began) * 1000.0
                with self.lock:
                    self.window.append(took)
            except Exception:
                self.errors += 1
                try:
                    if m:
                        m.close()
                except Exception:
                    pass
                m = None
            self.stop.wait(PROBE_EVERY)
        if m:
            try:
                m.close()
            except Exception:
                pass

    def take_p99(self):
        with self.lock:
            w, self.window = self.window, []
        if not w:
            return None
        w.sort()
        return w[min(len(w) - 1, int(len(w) * 0.99))]


def rss_kib(pid):
    """(VmRSS, RssAnon) in KiB: the rest of the RSS is file pages (the
    binary's and libraries' code as it is first run, the WAL index) and
    shared memory, which grow in steps as new paths run and are no leak."""
    rss = anon = 0
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1])
    return rss, anon


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


MEMORY_METRICS = ("tern_store_cache_bytes", "tern_heap_in_use_bytes", "tern_heap_free_bytes")


def memory_metrics(t):
    """The store's page caches and malloc's live and free heap, in KiB, from
    /metrics (loopback needs no token); None for one tern does not export
    (the heap figures need glibc)."""
    url = "http://%s:%d/metrics" % (t.host, t.port("http"))
    out = dict.fromkeys(MEMORY_METRICS)
    with urllib.request.urlopen(url, timeout=10) as r:
        for line in r.read().decode().splitlines():
            name, _, value = line.partition(" ")
            if name in out:
                out[name] = int(float(value)) // 1024
    return out


def wal_bytes(t):
    try:
        return os.path.getsize(os.path.join(t.data_dir, "tern.db-wal"))
    except OSError:
        return 0


def slope(xs, ys):
    """Least-squares slope of ys over xs."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def judge(samples, duration):
    """(rows for the summary, [(quantity, why not flat)])."""
    warm = max(60.0, duration / 5.0)
    steady = [s for s in samples if s["t"] >= warm]
    rows, bad = [], []
    if len(steady) < 6:
        return [("soak samples after the warm-up", len(steady))], [("samples", "too few")]
    span_min = (steady[-1]["t"] - steady[0]["t"]) / 60.0
    mins = [s["t"] / 60.0 for s in steady]
    third = max(1, len(steady) // 3)
    first, last = steady[:third], steady[-third:]

    rss = [s["rss_kib"] for s in steady]
    rss_own = [s["rss_kib"] - s["cache_kib"] for s in steady]
    rows += [("soak: RSS mean (MiB)", "%.1f" % (statistics.fmean(rss) / 1024)),
             ("soak: RSS slope (KiB/min)", "%.1f" % slope(mins, rss)),
             ("soak: RSS anonymous (not file pages) slope (KiB/min)",
              "%.1f" % slope(mins, [s["anon_kib"] for s in steady])),
             ("soak: page caches slope (KiB/min)",
              "%.1f" % slope(mins, [s["cache_kib"] for s in steady])),
             ("soak: RSS less page caches, mean (MiB)",
              "%.1f" % (statistics.fmean(rss_own) / 1024)),
             ("soak: RSS less page caches, slope (KiB/min)", "%.1f" % slope(mins, rss_own))]
    # Both are judged: the RSS less the page caches (what the operator
    # sees), and the live heap less the page caches (malloc's own count:
    # what tern holds, without what malloc keeps after a free). The second
    # tells a leak or an unbounded cache from a high-water mark.
    judged = [("rss", "RSS less the page caches", rss_own)]
    if all(s["heap_kib"] is not None for s in steady):
        own = [s["heap_kib"] - s["cache_kib"] for s in steady]
        judged.append(("heap", "the live heap less the page caches", own))
        rows += [("soak: live heap less page caches, mean (MiB)",
                  "%.1f" % (statistics.fmean(own) / 1024)),
                 ("soak: live heap less page caches, slope (KiB/min)", "%.1f" % slope(mins, own)),
                 ("soak: heap freed but held, first and last (MiB)",
                  "%.1f, %.1f" % (steady[0]["heap_free_kib"] / 1024,
                                  steady[-1]["heap_free_kib"] / 1024))]
    for key, what, ys in judged:
        growth = slope(mins, ys) * span_min
        limit = max(0.10 * statistics.fmean(ys), 4096)
        if growth > limit:
            bad.append((key, "%s grows %.0f KiB over %.0f min (limit %.0f)"
                        % (what, growth, span_min, limit)))

    fds = [s["fds"] for s in steady]
    fd_slope = slope(mins, fds)
    rows += [("soak: open descriptors (min-max)", "%d-%d" % (min(fds), max(fds))),
             ("soak: descriptors slope (/min)", "%.2f" % fd_slope)]
    if fd_slope * span_min > 10:
        bad.append(("fds", "grows %.1f over %.0f min" % (fd_slope * span_min, span_min)))

    wal_first = max(s["wal"] for s in first)
    wal_last = max(s["wal"] for s in last)
    rows += [("soak: WAL largest, first third (KiB)", "%.0f" % (wal_first / 1024)),
             ("soak: WAL largest, last third (KiB)", "%.0f" % (wal_last / 1024)),
             ("soak: WAL slope (KiB/min)", "%.1f" % (slope(mins, [s["wal"] for s in steady]) / 1024))]
    if wal_last > 1.5 * wal_first + 1024 * 1024:
        bad.append(("wal", "largest %d KiB late, %d KiB early" % (wal_last // 1024, wal_first // 1024)))

    p_first = [s["noop_p99_ms"] for s in first if s["noop_p99_ms"] is not None]
    p_last = [s["noop_p99_ms"] for s in last if s["noop_p99_ms"] is not None]
    if p_first and p_last:
        a, b = statistics.median(p_first), statistics.median(p_last)
        rows += [("soak: NOOP p99, first third (ms)", "%.1f" % a),
                 ("soak: NOOP p99, last third (ms)", "%.1f" % b),
                 ("soak: NOOP p99 slope (ms/min)",
                  "%.3f" % slope([s["t"] / 60.0 for s in steady if s["noop_p99_ms"] is not None],
                                 [s["noop_p99_ms"] for s in steady if s["noop_p99_ms"] is not None]))]
        if b > 2 * a + 5:
            bad.append(("latency", "NOOP p99 %.1f ms late, %.1f ms early" % (b, a)))
    else:
        bad.append(("latency", "the probe got no answers"))
    return rows, bad


def plot(samples, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "SKIPPED plot: python3-matplotlib is not installed"
    mins = [s["t"] / 60.0 for s in samples]
    fig, ax = plt.subplots(4, 1, figsize=(8, 10), sharex=True)
    series = [("RSS; page caches --; live heap : (MiB)", [s["rss_kib"] / 1024 for s in samples],
               [s["cache_kib"] / 1024 for s in samples],
               [s["heap_kib"] / 1024 if s["heap_kib"] is not None else float("nan")
                for s in samples]),
              ("open descriptors", [s["fds"] for s in samples], None, None),
              ("WAL (KiB)", [s["wal"] / 1024 for s in samples], None, None),
              ("IMAP NOOP p99 (ms)", [s["noop_p99_ms"] if s["noop_p99_ms"] is not None
                                      else float("nan") for s in samples], None, None)]
    for a, (label, ys, under, heap) in zip(ax, series):
        a.plot(mins, ys, linewidth=1)
        if under:
            a.plot(mins, under, linewidth=1, linestyle="--")
        if heap:
            a.plot(mins, heap, linewidth=1, linestyle=":")
        a.set_ylabel(label)
        top = max((y for y in ys if y == y), default=0)  # NaN: a window with no answer
        a.set_ylim(0, top * 1.15 if top > 0 else 1)
        a.grid(True, alpha=0.3)
    ax[-1].set_xlabel("minutes")
    fig.suptitle("tern soak: steady mixed load (SMTP mx+submission+relay, IMAP, POP3, CLI)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def run(L, t, drivers, duration, pause, out_dir, log=print):
    """Load for duration seconds; returns (rows, samples). Records a
    "soak" violation in L for each quantity that is not flat."""
    for d in drivers:
        d.pause = pause
        d.start()
    probe = Probe(t)
    probe.start()
    samples = []
    began = time.time()
    next_at = began + SAMPLE_EVERY
    pid = t.proc.pid
    try:
        while time.time() - began < duration:
            time.sleep(max(0.0, next_at - time.time()))
            next_at += SAMPLE_EVERY
            if t.proc.poll() is not None:
                L.violation("server", "tern exited during the soak (status %s)" % t.proc.returncode)
                break
            mem = memory_metrics(t)
            rss, anon = rss_kib(pid)
            s = {"t": time.time() - began, "rss_kib": rss, "anon_kib": anon,
                 "cache_kib": mem["tern_store_cache_bytes"] or 0,
                 "heap_kib": mem["tern_heap_in_use_bytes"],
                 "heap_free_kib": mem["tern_heap_free_bytes"], "fds": open_fds(pid),
                 "wal": wal_bytes(t), "noop_p99_ms": probe.take_p99(),
                 "acked": sum(L.acked.values())}
            samples.append(s)
            if len(samples) % 60 == 0:
                heap = "%.1f" % (s["heap_kib"] / 1024) if s["heap_kib"] is not None else "-"
                p99 = "%.1f" % s["noop_p99_ms"] if s["noop_p99_ms"] is not None else "-"
                log("soak %.0f min: RSS %.1f MiB (live heap %s MiB), %d fds, WAL %d KiB, "
                    "NOOP p99 %s ms, %d acknowledged"
                    % (s["t"] / 60, s["rss_kib"] / 1024, heap, s["fds"], s["wal"] // 1024, p99,
                       s["acked"]))
    finally:
        for d in drivers:
            d.stopping.set()
        probe.stop.set()
        for d in drivers:
            d.join(60)
        probe.join(10)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "soak.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["t", "rss_kib", "anon_kib", "cache_kib", "heap_kib",
                                          "heap_free_kib", "fds", "wal", "noop_p99_ms", "acked"])
        w.writeheader()
        w.writerows(samples)
    rows, bad = judge(samples, duration)
    for what, why in bad:
        L.violation("soak", "%s is not flat: %s" % (what, why))
    elapsed = samples[-1]["t"] if samples else 0
    acked = samples[-1]["acked"] - samples[0]["acked"] if len(samples) > 1 else 0
    rows = [("soak: minutes", "%.1f" % (elapsed / 60)),
            ("soak: acknowledged operations per second", "%.1f" % (acked / elapsed if elapsed else 0)),
            ("soak: probe errors", probe.errors)] + rows
    rows.append(("soak: plot", plot(samples, os.path.join(out_dir, "soak.png"))))
    return rows, samples
