"""The ITEACH-Net paper's incomplete-multimodal baselines (section 4.5) as plain torch modules.

Each is ``Cls(modality_dims, out_dim, **hyperparameters)`` with ``forward(features,
utterance_mask, present=None, speakers=None, *, complete=None) -> (B, L, out_dim)`` logits,
``auxiliary_loss()`` (its own extra losses of the last forward, to add to the task loss),
``uses_speakers`` and ``inference_parameters()``. MMIN also has ``pretrain_loss`` and
``finish_pretraining`` (see mmin.py).

A baseline is one file here: its class decorated with
``@register_model("name", label="Name", paper_parameters=...)`` (kind "baseline", the default).
Nothing else names it: ``BASELINES`` and ``PAPER_PARAMETERS`` below are live views of the model
registry, and the ``--model`` choices, ``iteach-app params``, titles and labels read the same
registration.
"""

from __future__ import annotations

from collections.abc import Mapping

from iteach_app.model.baselines._common import IncompleteBaseline
from iteach_app.model.baselines.ae import AE
from iteach_app.model.baselines.cpm_net import CPMNet
from iteach_app.model.baselines.cra import CRA
from iteach_app.model.baselines.gcnet import GCNet
from iteach_app.model.baselines.mmin import MMIN
from iteach_app.model.registry import RegistryView, import_model_files, model_entries

import_model_files()  # every other baseline file of this folder registers itself

BASELINES: Mapping[str, type[IncompleteBaseline]] = RegistryView(("baseline",), lambda e: e.fn)
"""name -> class of every registered baseline."""

PAPER_PARAMETERS: Mapping[str, float | None] = RegistryView(
    ("baseline",), lambda e: e.paper_parameters
)
"""ITEACH-Net paper, Table 3 (IEMOCAP, 4 classes), from each registration; CPM-Net has none."""


def paper_widths() -> dict[str, int]:
    """IEMOCAP input widths of the paper (GCNet release): wav2vec-large 512, DeBERTa-large 1024,
    MA-Net 1024."""
    return {"audio": 512, "text": 1024, "video": 1024}


def baseline_parameter_table(num_classes: int = 4) -> str:
    """Markdown table: each registered baseline's inference parameters at the paper's widths vs
    Table 3 (one row per registration, named by its label)."""
    rows = ["| model | label | ours | paper | ratio |", "|---|---|---:|---:|---:|"]
    for entry in model_entries("baseline").values():
        ours = entry.fn(paper_widths(), num_classes).inference_parameters()
        paper = entry.paper_parameters
        ratio = f"{ours / paper:.3f}" if paper else "-"
        shown = f"{paper / 1e6:.2f}M" if paper else "-"
        rows.append(f"| {entry.name} | {entry.label} | {ours / 1e6:.2f}M | {shown} | {ratio} |")
    return "\n".join(rows)


__all__ = [
    "AE",
    "BASELINES",
    "CRA",
    "MMIN",
    "PAPER_PARAMETERS",
    "CPMNet",
    "GCNet",
    "IncompleteBaseline",
    "baseline_parameter_table",
    "paper_widths",
]  # fmt: skip
