#!/usr/bin/env bash
# One prepared run of the CUDA timing path on a machine with an NVIDIA GPU (about 8 minutes).
#
# For a session lent a GPU through the device tool: run(command="bash benchmarks/gpu_check.sh",
# timeout_s=600). Nothing is installed: the repository goes on PYTHONPATH, and torch, pytest,
# click, jinja2, pandas and dask's distributed must already be there (they are on the lent H200
# image). Logs go to $OUT (the device tool brings them back) or /tmp/nnlab-gpu-check.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/nnlab-gpu-check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"

{
  echo "== machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "no nvidia-smi"
  uname -r
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '')"
  echo "== confinement (with /dev/nvidia* granted when present)"
  timeout 60 "$PY" benchmarks/confinement_probe.py
} 2>&1 | tee "$OUT/machine.log"

echo "== timing tests (CUDA where torch sees it)"
timeout 240 "$PY" -m pytest -q -p no:cacheprovider tests/test_timing.py tests/test_sandbox.py \
  -k "gpu or solution or loop or hidden or cache or request or drawn or shape" 2>&1 | tee "$OUT/tests.log"

echo "== GPU routing: a dask worker --resources GPU=1 beside a plain one (CUDA timing there, capped)"
timeout 200 "$PY" -m pytest -q -p no:cacheprovider tests/test_gpu_routing.py 2>&1 | tee "$OUT/routing.log"

echo "== stability, 3 runs per submission"
timeout 200 "$PY" benchmarks/timing_stability.py --runs 3 2>&1 | tee "$OUT/stability.log"
