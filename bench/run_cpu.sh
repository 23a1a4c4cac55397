#!/usr/bin/env bash
# The CPU benchmark, one command (a few minutes on two cores): one SDE step (N 256 1024 4096, batch 64, 1 and 2 threads),
# the closed-form fit grid with the float32/float64 comparison, then the tables regenerated from the JSON.
# Run it on a quiet machine for clean absolute numbers; every row records whether other work shared the cores.
# Separate, longer: the N = 4096, K = 1e6 fit (python bench/bench_fit.py --big) and the demo's stages (python bench/bench_demo.py).
# Separate, longest: dysts' 88 chaotic flows through fit (pip install 'ddm-nb[dysts]'; python bench/bench_dysts.py --jobs 2, resumable).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export OMP_NUM_THREADS=2 MPLBACKEND=Agg
$PY bench/bench_sim.py --device cpu
$PY bench/bench_fit.py --device cpu
$PY bench/report.py
