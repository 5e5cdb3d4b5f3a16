#!/usr/bin/env bash
# Builds the benchmark clients (smtp_load, pop3_load, imap_load) into bench/bin/.
# Benchmarks only: never part of the test suite or CI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${BENCH_BIN:-$here/bin}"
mkdir -p "$out"
CC="${CC:-gcc}"
for prog in smtp_load pop3_load imap_load; do
	if [[ ! -x "$out/$prog" || "$here/$prog.c" -nt "$out/$prog" ]]; then
		"$CC" -O2 -g -Wall -Wextra -o "$out/$prog" "$here/$prog.c"
	fi
done
if [[ ! -f "$out/fsync_count.so" || "$here/fsync_count.c" -nt "$out/fsync_count.so" ]]; then
	"$CC" -O2 -Wall -Wextra -shared -fPIC -o "$out/fsync_count.so" "$here/fsync_count.c" -ldl
fi
echo "$out"
