#!/usr/bin/env bash
# The prepared GPU check: run it whenever a GPU is lent, and put its output in the closing note.
#
#   bash bench/gpu_check.sh          # from anywhere, on a machine with an NVIDIA GPU and torch
#
# Under 8 minutes on one GPU, in one go:
#   1. `lmprep validate --device cuda` of every challenge whose devices include cuda
#      (reference Accepted, stub 0, every mutant rejected, with the CUDA cases running);
#   2. the references and two mutants of scaled-dot-product-attention and lstm-cell
#      submitted on CUDA, with the device, memory mechanism and skipped devices of each Report;
#   3. over-allocations on CUDA: GPU memory far past the card and host memory past the
#      budget (data segment + resident watchdog) must both be Memory Limit Exceeded, never
#      Crashed or Internal Error.
# It runs lmprep from this checkout (PYTHONPATH), so nothing needs installing but the
# dependencies; a missing one is named before anything runs. Exit 0 only if every step held.
# DEVICE=cpu bash bench/gpu_check.sh rehearses the same steps on a machine without a GPU.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PYTHONPATH=$root${PYTHONPATH:+:$PYTHONPATH}
export LMPREP_HOME=$(mktemp -d) LMPREP_WORKSPACE=$(mktemp -d) PYTHONUNBUFFERED=1
work=$(mktemp -d)
trap 'rm -rf "$work" "$LMPREP_HOME" "$LMPREP_WORKSPACE"' EXIT
py=${PYTHON:-python3}
export DEVICE=${DEVICE:-cuda}
lm() { "$py" -m lmprep "$@"; }
failed=0
fail() { echo "FAIL: $*"; failed=1; }
started=$(date +%s)

echo "== machine"
nvidia-smi -L 2>/dev/null || echo "(no nvidia-smi)"
"$py" - <<'PY' || exit 2
import importlib, sys
missing = [m for m in ("click", "jinja2", "sqlite_utils", "rich", "pytest", "hypothesis", "numpy", "matplotlib", "torch")
           if importlib.util.find_spec(m) is None]
if missing:
    sys.exit(f"missing: {', '.join(missing)} (pip install them, or carry them as wheels)")
import torch
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, CUDA {torch.version.cuda}")
import os
if os.environ["DEVICE"] == "cuda":
    if not torch.cuda.is_available():
        sys.exit("torch sees no CUDA device: nothing to check (DEVICE=cpu rehearses the steps)")
    print("device:", torch.cuda.get_device_name(0))
PY

echo "== 1. validate every cuda challenge with --device $DEVICE"
cuda_challenges=$(grep -l '"cuda"' challenges/*/challenge.toml | xargs -n1 dirname)
timeout 330 "$py" -m lmprep validate $cuda_challenges --device "$DEVICE" -j 4 || fail "validate --device $DEVICE"

summary() {  # a Report (JSON on stdin) in one line
  "$py" -c 'import json, sys
r = json.load(sys.stdin)
m = r["limits"].get("memory", {})
print(f"{r[\"verdict\"]:22s} {r[\"score\"]:g}/{r[\"max_score\"]:g} device={r[\"device\"]} skipped={r[\"devices_skipped\"]} "
      f"memory={m.get(\"mechanism\")} ({m.get(\"baseline_mb\")} MB + {m.get(\"budget_mb\")} MB) "
      f"{r[\"timings\"].get(\"wall_s\", 0):.1f} s  {r[\"message\"][:120]!r}")'
}
submit() {  # submit FILE SLUG EXPECTED...: the verdict must be one of EXPECTED
  local file=$1 slug=$2; shift 2
  local out; out=$(lm submit "$file" -c "$slug" --device "$DEVICE" --json)
  local verdict; verdict=$(printf '%s' "$out" | "$py" -c 'import json,sys; print(json.load(sys.stdin)["verdict"])')
  printf '  %-40s ' "$(basename "$file")"; printf '%s' "$out" | summary
  local want; for want in "$@"; do [ "$verdict" = "$want" ] && return 0; done
  fail "$slug $(basename "$file"): $verdict, expected $*"
}

echo "== 2. references and two mutants on $DEVICE"
for slug in scaled-dot-product-attention lstm-cell; do
  echo " $slug"
  submit "challenges/$slug/reference.py" "$slug" Accepted
  for mutant in $(ls "challenges/$slug/mutants/"*.py | head -2); do
    submit "$mutant" "$slug" "Wrong Answer" "Runtime Error" "Time Limit Exceeded" "Memory Limit Exceeded" "Forbidden API" "Interface Error" "Crashed"
  done
done

echo "== 3. over-allocations on $DEVICE"
slug=scaled-dot-product-attention
for kind in gpu host; do
  file=$work/over_allocates_$kind.py
  cp "challenges/$slug/reference.py" "$file"
  if [ $kind = gpu ]; then hog='torch.empty(1 << 40, dtype=torch.uint8, device=q.device)  # 1 TiB on the GPU'
  else hog='torch.ones(3 << 28)  # 3 GiB of host memory: past the 2 GiB budget'; fi
  cat >> "$file" <<PYEOF


_reference_attention = scaled_dot_product_attention


def scaled_dot_product_attention(q, *args, **kwargs):
    hog = $hog
    return _reference_attention(q, *args, **kwargs) + 0 * hog.flatten()[:1].to(q.device, q.dtype).sum()
PYEOF
  submit "$file" "$slug" "Memory Limit Exceeded"
done

echo "== done in $(( $(date +%s) - started )) s: $([ $failed = 0 ] && echo 'every step held' || echo 'SOME STEPS FAILED')"
exit $failed
