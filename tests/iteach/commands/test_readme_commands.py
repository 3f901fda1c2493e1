"""The app README's command block runs top to bottom as a stranger would: no two `train` lines
write the same run folder, and each `compare` pools runs of one dataset only. Its examples name
the data `DATA/` (the user's copy), never the developers' `../shared/data`."""

from __future__ import annotations

import fnmatch
import re
import shlex
from pathlib import Path

from iteach_app.config import parse_pairs, resolve
from iteach_app.training.run_folder import run_name
from iteach_app.training.sweep import parse_int_list

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "apps" / "iteach" / "README.md"
READMES = [ROOT / "README.md", README, *sorted((ROOT / "packages").glob("*/README.md"))]


def _commands() -> list[list[str]]:
    text = README.read_text()
    block = text[text.index("## Commands") :]
    block = re.search(r"```bash\n(.*?)```", block, flags=re.DOTALL).group(1)
    joined = re.sub(r"\\\n\s*", " ", block)
    lines = [line.split("  #")[0].strip() for line in joined.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("iteach-app ")]


def _train_runs(args: list[str]) -> list[str]:
    """The run folder names a README `train` line writes (without --resume)."""
    options, index = {}, 0
    while index < len(args):
        key = args[index].removeprefix("--").replace("-", "_")
        flag = index + 1 == len(args) or args[index + 1].startswith("--")
        options[key] = True if flag else args[index + 1]  # a bare --flag (e.g. --causal) is True
        index += 1 if flag else 2
    if "name" in options:
        return [options["name"]]
    seeds = parse_int_list(options.pop("seed", None), "seed") or [0]
    fold = options.pop("fold", None)
    overrides = {k: v for k, v in options.items() if k != "out"}
    if "features" in overrides:
        overrides["features"] = parse_pairs(overrides["features"])
    overrides["epochs"] = int(overrides.get("epochs", 1))
    names = []
    for seed in seeds:
        config = resolve(overrides={**overrides, "seed": seed, "fold": fold and int(fold)})
        names.append(run_name(config))
    return names


def test_readme_train_lines_write_distinct_run_folders_and_compare_pools_one_dataset() -> None:
    written: list[str] = []
    commands = _commands()
    for args in commands:
        if args[0] == "train" and "--resume" not in args:
            written += _train_runs(args[1:])
    assert len(written) == len(set(written)), f"README train lines collide: {written}"
    for args in commands:
        if args[0] != "compare":
            continue
        patterns = [a.removeprefix("runs/") for a in args[1:] if a.startswith("runs/")]
        matched = {name for name in written for p in patterns if fnmatch.fnmatch(name, p)}
        assert matched, f"compare {patterns} matches no README run"
        datasets = {name.split("-its-")[0].split("-ts-")[0].split("-gcnet-")[0] for name in matched}
        assert len(datasets) == 1, f"compare {patterns} mixes datasets: {sorted(matched)}"


def test_readme_examples_name_the_users_data_folder() -> None:
    for path in READMES:
        assert "../shared/data" not in path.read_text(), f"{path.relative_to(ROOT)}"


def test_run_names_are_not_reused_across_the_readmes_blocks() -> None:
    """The README's sections run one after another in one folder: a `train --name` in one
    block must not land in the folder another block's `train --name` already wrote."""
    text = re.sub(r"\\\n\s*", " ", README.read_text())
    named = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.DOTALL):
        for line in block.splitlines():
            args = (
                shlex.split(line.split("  #")[0].strip())
                if line.startswith("iteach-app train")
                else []
            )
            if "--name" in args and "--resume" not in args:
                out = args[args.index("--out") + 1] if "--out" in args else "runs"
                named.append(f"{out}/{args[args.index('--name') + 1]}")
    assert named, "no named train line found"
    assert len(named) == len(set(named)), f"README train lines reuse a run folder: {named}"


def test_the_synth_hint_names_the_folder_data_synth_writes(tmp_path: Path) -> None:
    """The Commands intro tells a user without data what `data synth DATA --name iemocap4`
    wrote: the `--data` folder it names must be the one the command creates."""
    from typer.testing import CliRunner

    from iteach_app.cli import app

    text = README.read_text()
    hint = re.search(r"`--data DATA/(\S+) --dataset (\S+) --features", text)
    assert hint, "no data synth hint in the README"
    args = ["data", "synth", str(tmp_path), "--name", "iemocap4", "--dialogues", "4"]
    result = CliRunner().invoke(app, [*args, "--dims", "text=8"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / hint.group(1)).is_dir(), f"data synth wrote {sorted(tmp_path.iterdir())}"
    assert f"--dataset {hint.group(2)}" in result.output
