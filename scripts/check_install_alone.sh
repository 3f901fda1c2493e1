#!/usr/bin/env bash
# Installs each package alone into a fresh venv that holds only torch, then imports it and checks that
# neither timm nor typer came along; then installs the app's wheel (with its four siblings, all built
# here by `python -m build`) into a venv holding an older torch and checks that the user's torch is
# unchanged and that no torchvision/timm came along.
# Usage: scripts/check_install_alone.sh [TORCH_REQUIREMENT] (default torch==2.13.0, a CPU build; any
# torch>=2.1 will do). Takes a few minutes; not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
torch_requirement="${1:-torch==2.13.0}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for spec in ecce:ecce its:its_distill missing:missing_modality erc-data:erc_data; do
  folder="${spec%%:*}" module="${spec##*:}"
  rm -rf "$work/venv" && python3 -m venv "$work/venv"
  "$work/venv/bin/python" -m pip install --quiet "$torch_requirement"
  "$work/venv/bin/python" -m pip install --quiet "./packages/$folder"
  "$work/venv/bin/python" - "$module" <<'PY'
import importlib, importlib.util, sys
module = sys.argv[1]
importlib.import_module(module)
present = [name for name in ("timm", "typer", "torchvision") if importlib.util.find_spec(name)]
assert not present, f"{module}: the venv also holds {present}"
print(f"{module}: installed and imported with torch alone")
PY
done

# The app from its wheels: the user's torch must survive the install.
rm -rf "$work/venv" && python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet build
for project in packages/ecce packages/its packages/missing packages/erc-data apps/iteach; do
  "$work/venv/bin/python" -m build --wheel --outdir "$work/wheels" "$project" >/dev/null
done
rm -rf "$work/venv" && python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$torch_requirement"
before="$("$work/venv/bin/python" -c 'import torch; print(torch.__version__)')"
"$work/venv/bin/python" -m pip install --quiet --find-links "$work/wheels" "$work"/wheels/iteach_app-*.whl
"$work/venv/bin/python" - "$before" <<'PY'
import importlib.metadata as md, importlib.util, sys
before, after = sys.argv[1], __import__("torch").__version__
print(f"torch before installing iteach-app: {before}; after: {after}")
assert after == before, f"installing iteach-app replaced torch {before} by {after}"
present = [name for name in ("timm", "torchvision") if importlib.util.find_spec(name)]
assert not present, f"iteach-app brought {present}"
cuda = sorted(d.metadata["Name"] for d in md.distributions() if d.metadata["Name"].startswith("nvidia-"))
assert not cuda, f"iteach-app brought CUDA wheels {cuda}"
PY
"$work/venv/bin/iteach-app" --version
