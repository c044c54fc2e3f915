#!/usr/bin/env bash
# GPU check on a machine with a CUDA PyTorch and no Node (the device machines): unpacks a carried Node,
# node_modules and ../shared from .gpu/ (made by `scripts/gpu-check.sh --pack` here), builds the addon
# against python3's torch, then runs the CUDA tests, the SAM parity tests with SAM on the GPU, and the
# suite on that libtorch. Logs go to $OUT (or /tmp/gpu-out). Usage: scripts/gpu-check.sh [--pack] [steps...]
# steps: build cuda sam suite (default: all four).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --pack ]; then
  mkdir -p .gpu
  xz -T0 -6 -c "$(command -v node)" >.gpu/node.xz
  tar -cf - --exclude=node_modules/typescript --exclude=node_modules/prettier --exclude=node_modules/eslint \
    --exclude=node_modules/@eslint --exclude=node_modules/@typescript-eslint --exclude=node_modules/typescript-eslint \
    node_modules | xz -T0 -6 >.gpu/nm.tar.xz
  tar -C .. -cf - shared/fixtures shared/sam-notes.md | xz -T0 -6 >.gpu/shared.tar.xz
  ls -la .gpu
  exit 0
fi
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
steps=${*:-build cuda sam suite}
if ! command -v node >/dev/null; then
  mkdir -p /tmp/nb && xz -dc .gpu/node.xz >/tmp/nb/node && chmod +x /tmp/nb/node
  export PATH=/tmp/nb:$PATH
fi
[ -d node_modules ] || tar -xJf .gpu/nm.tar.xz
[ -d ../shared/fixtures ] || tar -xJf .gpu/shared.tar.xz -C ..
nvidia-smi -L
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
status=0
for step in $steps; do
  start=$(date +%s)
  case $step in
  build) WISH_TORCH_PYTHON=$(command -v python3) node scripts/build-addon.mjs --force >"$OUT/build.log" 2>&1 ;;
  cuda) node --import tsx --test test/gpu/cuda.test.ts >"$OUT/cuda.log" 2>&1 ;;
  # NVIDIA_TF32_OVERRIDE=0: full fp32 in cuBLAS / cuDNN, so the official CPU fixtures hold to their tolerances.
  sam) NVIDIA_TF32_OVERRIDE=0 WISH_TEST_DEVICE=cuda node scripts/run-tests.mjs test/sam/ >"$OUT/sam-cuda.log" 2>&1 ;;
  suite) node scripts/run-tests.mjs >"$OUT/suite.log" 2>&1 ;;
  *) echo "unknown step $step" && exit 2 ;;
  esac
  rc=$?
  echo "== $step: exit $rc in $(($(date +%s) - start)) s"
  log=$OUT/$([ "$step" = sam ] && echo sam-cuda || echo "$step").log
  if [ $rc -ne 0 ]; then
    status=1
    grep -E "^not ok|Error|error:|failed" "$log" | head -40
    tail -25 "$log"
    [ "$step" = build ] && exit 1
  else
    grep -E "^# (tests|pass|fail|skipped)" "$log"
  fi
done
exit $status
