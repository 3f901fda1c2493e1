#!/usr/bin/env bash
# Installs each package alone into a fresh venv that holds only torch, then imports it and checks that
# neither timm nor typer came along. Usage: scripts/check_install_alone.sh [TORCH_REQUIREMENT]
# (default torch==2.13.0, a CPU build; any torch>=2.1 will do). Takes a few minutes; not part of CI.
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
