"""The power cut after the kill: undo every write the disk was never asked
to keep.

powerloss_shim.c (preloaded into tern and the CLI) journals the old bytes
of every write to a file in the data directory and marks each completed
fsync/fdatasync. rollback() undoes, newest first, each file's writes
journalled after its last sync began, deletes the SQLite WAL index (-shm,
shared memory that a power cut takes too), and starts a fresh journal: what
is left is what the disk held.
"""
import os
import shutil
import struct
import time


def environment(shim, data_dir, journal):
    return {"LD_PRELOAD": shim, "TERN_POWERLOSS_DIR": os.path.realpath(data_dir),
            "TERN_POWERLOSS_JOURNAL": journal}


def read_journal(path):
    """[(journal offset, kind, path, fields...)]."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    at = 0
    while at < len(data):
        start = at
        kind = data[at:at + 1]
        (pl,) = struct.unpack_from("<I", data, at + 1)
        p = data[at + 5:at + 5 + pl].decode()
        at += 5 + pl
        if kind == b"S":
            (upto,) = struct.unpack_from("<Q", data, at)
            at += 8
            out.append((start, "S", p, upto))
        elif kind == b"W":
            off, size, n = struct.unpack_from("<QQQ", data, at)
            at += 24
            out.append((start, "W", p, off, size, data[at:at + n]))
            at += n
        else:
            raise ValueError("journal %s: bad record at %d" % (path, start))
    return out


def rollback(data_dir, journal):
    """Undo the unsynced writes; returns (records undone, bytes restored)."""
    undone = restored = 0
    if os.environ.get("TERN_POWERLOSS_SNAPSHOT"):  # debugging: the disk before the cut
        shutil.rmtree(data_dir + ".before", ignore_errors=True)
        shutil.copytree(data_dir, data_dir + ".before")
        shutil.copy(journal, journal + ".%d" % time.time())
    if os.path.exists(journal):
        records = read_journal(journal)
        synced = {}
        for rec in records:
            if rec[1] == "S":
                synced[rec[2]] = max(synced.get(rec[2], 0), rec[3])
        for rec in reversed(records):
            if rec[1] != "W" or rec[0] < synced.get(rec[2], 0) or not os.path.exists(rec[2]):
                continue
            _, _, p, off, size, old = rec
            with open(p, "r+b") as f:
                if old:
                    f.seek(off)
                    f.write(old)
                f.truncate(size)
            undone += 1
            restored += len(old)
        os.replace(journal, journal + ".last")  # for a post-mortem (--keep)
    for name in os.listdir(data_dir):
        if name.endswith("-shm"):
            os.unlink(os.path.join(data_dir, name))
    return undone, restored
