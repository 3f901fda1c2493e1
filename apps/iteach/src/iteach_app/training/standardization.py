"""Fit the input statistics of a run on its training split and load them into the models.

Every `FeatureStandardizer` inside the teacher and the student (ITEACH-Net and the baselines
hold one at their input) gets the same per-modality mean and std, fit by `erc_data.Standardizer`
on the TRAINING split only; the buffers then travel in every checkpoint, so evaluate, plot and
predict reuse them without extra code.
"""

from __future__ import annotations

import warnings

from torch import nn

from erc_data import ERCDataset, Standardizer
from iteach_app.model.layers.standardize import FeatureStandardizer


def fit_input_statistics(model: nn.Module, train: ERCDataset, mode: str) -> list[str]:
    """Fit ``mode`` ("standard" or "none") on ``train`` and load it into every
    FeatureStandardizer of ``model``; returns the fit's warnings, one line each. NaN or inf
    statistics raise erc_data.DataError (a ValueError) naming the modality."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        state = Standardizer(mode).fit(train).state_dict()
    for module in model.modules():
        if isinstance(module, FeatureStandardizer):
            module.load_statistics(state)
    return [" ".join(str(w.message).split()) for w in caught]
