#!/usr/bin/env bash
# The serving load tests of docs/results/serving.md in one command: trains a small offline and a
# small causal run (hidden 64, synthetic IEMOCAP-4, 1 epoch), exports the offline one to ONNX, then
# load-tests onnx and torch on the offline run and torch (incremental streaming) on the causal run.
# Usage: benchmarks/serve_runs.sh [OUT] (default /tmp/iteach-serve; finished steps are skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-/tmp/iteach-serve}"
py="${PYTHON:-.venv/bin/python}"
export OMP_NUM_THREADS=1
common=(--synthetic iemocap4 --synthetic-dims text=64,audio=32,video=64 --hidden-dim 64
  --num-heads 4 --epochs 1 --eval-rates 0.0,0.5 --device cpu --threads 1 --out "$out" -q)
[ -f "$out/serve-offline/ume.json" ] || "$py" -m iteach_app train "${common[@]}" --name serve-offline
[ -f "$out/serve-causal/ume.json" ] || "$py" -m iteach_app train "${common[@]}" --causal --name serve-causal
[ -f "$out/serve-offline/export/student.onnx" ] || "$py" -m iteach_app export "$out/serve-offline" --format onnx
load=(--conversations 50 --utterances 100 --kill-after 5 --timeout 1500)
uptime
"$py" benchmarks/serve_load.py --run "$out/serve-offline" --runtimes onnx,torch "${load[@]}" --out "$out/offline.json"
uptime
"$py" benchmarks/serve_load.py --run "$out/serve-causal" --runtimes torch "${load[@]}" --out "$out/causal.json"
uptime
