"""Progress that a user sees: training bars with the remaining time and the running loss; `plot`
steps through its figures on a bar."""

from __future__ import annotations

import io
import re

from rich.console import Console

from iteach_app.training.trainer import Trainer


def test_training_bars_show_eta_and_running_loss(tmp_path, make_config) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=160)
    Trainer(make_config(epochs=1), tmp_path / "run", verbose=True, console=console).fit()
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())
    assert re.search(r"epoch 1 .*eta .*loss \d+\.\d{4}", shown), shown[-2000:]
