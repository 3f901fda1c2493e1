"""The ITEACH-Net paper's incomplete-multimodal baselines (section 4.5) as plain torch modules.

Each is ``Cls(modality_dims, out_dim, **hyperparameters)`` with ``forward(features,
utterance_mask, present=None, speakers=None, *, complete=None) -> (B, L, out_dim)`` logits,
``auxiliary_loss()`` (its own extra losses of the last forward, to add to the task loss),
``uses_speakers`` and ``inference_parameters()``. MMIN also has ``pretrain_loss`` and
``finish_pretraining`` (see mmin.py).
"""

from __future__ import annotations

from iteach_app.model.baselines._common import IncompleteBaseline
from iteach_app.model.baselines.ae import AE
from iteach_app.model.baselines.cpm_net import CPMNet
from iteach_app.model.baselines.cra import CRA
from iteach_app.model.baselines.gcnet import GCNet
from iteach_app.model.baselines.mmin import MMIN

BASELINES: dict[str, type[IncompleteBaseline]] = {
    "ae": AE, "cra": CRA, "mmin": MMIN, "gcnet": GCNet, "cpm": CPMNet,
}  # fmt: skip

PAPER_PARAMETERS: dict[str, float | None] = {
    "ae": 1.29e6, "cra": 2.11e6, "mmin": 3.87e6, "gcnet": 34.14e6, "cpm": None,
}  # fmt: skip
"""ITEACH-Net paper, Table 3 (IEMOCAP, 4 classes); CPM-Net has no count there."""


def paper_widths() -> dict[str, int]:
    """IEMOCAP input widths of the paper (GCNet release): wav2vec-large 512, DeBERTa-large 1024,
    MA-Net 1024."""
    return {"audio": 512, "text": 1024, "video": 1024}


def baseline_parameter_table(num_classes: int = 4) -> str:
    """Markdown table: each baseline's inference parameters at the paper's widths vs Table 3."""
    rows = ["| model | ours | paper | ratio |", "|---|---:|---:|---:|"]
    for name, cls in BASELINES.items():
        ours = cls(paper_widths(), num_classes).inference_parameters()
        paper = PAPER_PARAMETERS[name]
        ratio = f"{ours / paper:.3f}" if paper else "-"
        rows.append(
            f"| {name} | {ours / 1e6:.2f}M | {f'{paper / 1e6:.2f}M' if paper else '-'} | {ratio} |"
        )
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
