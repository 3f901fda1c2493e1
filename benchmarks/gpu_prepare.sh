#!/usr/bin/env bash
# Fills .gpu-data/ (git-ignored through .git/info/exclude) for benchmarks/gpu_check.py on a lent
# device machine, whose image has torch, numpy, safetensors and scikit-learn but not all the app
# needs: IEMOCAP from the shared data, and the app's pure-Python dependencies (and pydantic-core)
# as wheels for that machine's Python. Run in the repository root:
#     bash benchmarks/gpu_prepare.sh [PYTHON_VERSION=3.12]
set -euo pipefail
python_version=${1:-3.12}
data=${ITEACH_SHARED_DATA:-../shared/data}
mkdir -p .gpu-data/wheels
cp -r "$data/IEMOCAP" .gpu-data/
grep -qx '/.gpu-data/' .git/info/exclude 2>/dev/null || echo '/.gpu-data/' >> .git/info/exclude
python3 -m pip download --quiet --no-deps --only-binary=:all: --implementation cp \
    --python-version "$python_version" --platform manylinux_2_28_x86_64 \
    --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .gpu-data/wheels \
    tomli_w==1.2.0 typer==0.29.2 click==8.5.1 rich==15.0.0 shellingham==1.5.4 \
    annotated-doc==0.0.7 pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 \
    typing-inspection==0.4.5 typing-extensions==4.16.0
du -sh .gpu-data
