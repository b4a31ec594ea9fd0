#!/bin/bash
# `pedgis run` on the sample, the checkout given (e.g. a `git worktree add /tmp/before <commit>`) against this one,
# alternating in fresh processes: one warm-up each, then 5 rounds; prints each time and the medians.
#   bash benchmarks/side_by_side_run.sh /tmp/before
set -euo pipefail
OLD=$(cd "${1:?give the other checkout}" && pwd)
NEW=$(cd "$(dirname "$0")/.." && pwd)
PY="$NEW/.venv/bin/python"
unset PYTHONDONTWRITEBYTECODE  # as installed: the warm-up runs leave the compiled bytecode, as for a user
OUT=$(mktemp -d)
one() { (cd "$1" && rm -rf "$OUT/o" && "$PY" -m pedgis run sample_data/scenario.toml --quiet --out "$OUT/o" >/dev/null 2>&1); }
one "$OLD"; one "$NEW"
for i in 1 2 3 4 5; do
  for tree in "$OLD" "$NEW"; do
    s=$(date +%s.%N); one "$tree"; e=$(date +%s.%N)
    echo "$tree $(python3 -c "print(f'{$e - $s:.2f}')")"
  done
done | tee "$OUT/times"
python3 - "$OUT/times" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    t.setdefault(k, []).append(float(v))
old, new = (statistics.median(v) for v in t.values())
print(f"median before {old:.2f} s, now {new:.2f} s: {old / new:.2f}x")
PY
rm -rf "$OUT"
