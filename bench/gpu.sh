#!/usr/bin/env bash
# The GPU benchmark, one prepared script, at most 8 minutes (the three timeouts add to 480 s) on one GPU:
#   the step at N 256 1024 4096, batch 1024, in float32 (with its bf16 and fused=True columns) and TF32;
#   the fits N = 4096 from 1e5 and N = 16,384 from 1e6 samples, and the float32/float64 ridge comparison at N = 4096.
# Writes bench/results/sim-cuda.json, sim-cuda-tf32.json, fit-cuda.json, then regenerates the tables (bench/report.py).
# Targets: >= 20x torchsde at N = 1024, <= 1.5x the matmul at N = 4096, fits < 2 s and < 60 s.
# Needs a Python with a CUDA build of torch, torchsde and this package (pip install -e .): PY=/path/to/python bash bench/gpu.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || command -v python3 )}
export MPLBACKEND=Agg
$PY -c "import torch, torchsde, ddm_nb; assert torch.cuda.is_available(), 'no CUDA device visible to torch'; print(torch.__version__, torch.cuda.get_device_name())" || exit 1
t0=$SECONDS
timeout 270 $PY bench/bench_sim.py --device cuda --sizes 256 1024 4096 --batch 1024 --skip memory train || echo "sim fp32 failed or timed out"
echo "sim fp32 done at $((SECONDS-t0)) s"
timeout 90 $PY bench/bench_sim.py --device cuda --sizes 256 1024 4096 --batch 1024 --tf32 --skip fused bf16 memory train || echo "sim tf32 failed or timed out"
echo "sim tf32 done at $((SECONDS-t0)) s"
timeout 120 $PY bench/bench_fit.py --device cuda --grid 4096:100000 16384:1000000 --precision 4096:100000 --cap-gb 100 --out bench/results/fit-cuda.json || echo "fits failed or timed out"
echo "fits done at $((SECONDS-t0)) s"
$PY bench/report.py
