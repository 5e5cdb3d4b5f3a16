#!/usr/bin/env python3
"""check_layers: what the floors of the tree promise and the compiler alone
does not check (docs/design.md, "Floors").

1. Inside a floor, files call each other one way. The file-level call graph
   is read from the object files (`nm`): A -> B when A's object references a
   symbol B's object defines. A strongly connected component of more than
   one file is a cycle and fails the check. Even dispatch points one way:
   each protocol's command table sits at the top of its folder and the
   session is handed the table.
2. Only store/ talks to SQLite: no C file outside store/ and the store's
   own unit tests mentions sqlite3.

Upward includes and calls between floors are refused by the build itself
(CMakeLists.txt, "The floors").

usage: check_layers.py BUILD_DIR SOURCE_DIR
"""
import collections
import glob
import os
import re
import subprocess
import sys

# The store's own tests look at its tables.
SQLITE_ALLOWED_TESTS = {"tests/unit/test_store.c", "tests/unit/test_imap_store.c",
                        "tests/unit/test_wal_vfs.c", "tests/unit/test_store_changes.c",
                        "tests/unit/test_store_webhooks.c"}


def objects(build, source):
    """Source path (relative to the tree) -> object file, for every floor;
    objects left behind by a deleted source are not the program."""
    out = {}
    for obj in glob.glob(os.path.join(build, "CMakeFiles", "tern_*.dir", "**", "*.c.o"),
                         recursive=True):
        rel = obj.split(".dir" + os.sep, 1)[1][: -len(".o")]
        if os.path.exists(os.path.join(source, rel)):
            out[rel] = obj
    return out


def call_graph(objs):
    defined, referenced = {}, collections.defaultdict(set)
    for src, obj in objs.items():
        lines = subprocess.run(["nm", obj], capture_output=True, text=True,
                               check=True).stdout.splitlines()
        for line in lines:
            f = line.split()
            if len(f) == 3 and f[1] in "TDBRC":
                defined[f[2]] = src
            elif len(f) == 2 and f[0] == "U":
                referenced[src].add(f[1])
    graph = collections.defaultdict(set)
    for src, syms in referenced.items():
        for s in syms:
            dst = defined.get(s)
            if dst and dst != src:
                graph[src].add(dst)
    return graph, set(objs)


def cycles(graph, nodes):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on, stack, comps, counter = {}, {}, set(), [], [], [0]
    for root in sorted(nodes):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    comps.append(sorted(comp))
    return comps


def sqlite_users(source):
    bad = []
    tracked = subprocess.run(["git", "-C", source, "ls-files", "*.c", "*.h"],
                             capture_output=True, text=True).stdout.split()
    if not tracked:  # not a git checkout: walk the tree
        tracked = [os.path.relpath(p, source) for p in
                   glob.glob(os.path.join(source, "**", "*.[ch]"), recursive=True)]
    for rel in tracked:
        if rel.startswith("store/") or rel in SQLITE_ALLOWED_TESTS or rel.startswith("build"):
            continue
        with open(os.path.join(source, rel), errors="replace") as f:
            if re.search(r"sqlite3", f.read()):
                bad.append(rel)
    return bad


def main():
    build, source = sys.argv[1], sys.argv[2]
    objs = objects(build, source)
    if not objs:
        print("check_layers: no object files under %s" % build)
        return 1
    graph, nodes = call_graph(objs)
    failed = False
    for comp in cycles(graph, nodes):
        failed = True
        print("cycle: " + " <-> ".join(comp))
        for a in comp:
            print("   %s -> %s" % (a, ", ".join(sorted(graph[a] & set(comp)))))
    for rel in sqlite_users(source):
        failed = True
        print("sqlite3 outside store/: %s" % rel)
    edges = sum(len(v) for v in graph.values())
    print("check_layers: %d files, %d call edges, %s" %
          (len(nodes), edges, "FAILED" if failed else "one way, SQLite only in store/"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
