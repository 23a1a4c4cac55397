#!/usr/bin/env bash
# The GPU benchmark, one prepared script (about 5-8 minutes on one GPU): the step at N 256 1024 4096, batch 1024, in float32,
# TF32 and bfloat16 (the bf16 column of each row), and the fits N = 4096 from 1e5 and N = 16,384 from 1e6 samples.
# Writes bench/results/sim-cuda.json, sim-cuda-tf32.json, fit-cuda.json; then regenerates the tables (bench/report.py).
# Targets: >= 20x torchsde at N = 1024, <= 1.5x the matmul at N = 4096, fits < 2 s and < 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export MPLBACKEND=Agg
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
t0=$SECONDS
timeout 240 $PY bench/bench_sim.py --device cuda --sizes 256 1024 4096 --batch 1024 --skip memory
echo "sim fp32 done at $((SECONDS-t0)) s"
timeout 120 $PY bench/bench_sim.py --device cuda --sizes 256 1024 4096 --batch 1024 --tf32 --skip fused bf16 memory
echo "sim tf32 done at $((SECONDS-t0)) s"
timeout 150 $PY bench/bench_fit.py --device cuda --grid 4096:100000 16384:1000000 --precision 4096:100000 --cap-gb 100 --out bench/results/fit-cuda.json
echo "fits done at $((SECONDS-t0)) s"
$PY bench/report.py
