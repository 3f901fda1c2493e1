"""GCNet's dense relation masks and relational convolution against simple loops over edges."""

from __future__ import annotations

import pytest
import torch

from iteach_app.model.baselines.gcnet import GCNet, RelationalGraphConv


def reference_edges(length: int, speakers: list[int], wp: int, wf: int, n_spk: int) -> tuple:
    """Loop version: temporal[r][i][j], speaker[r][i][j] for edges j -> i with i-wp <= j <= i+wf."""
    temporal = torch.zeros(3, length, length, dtype=torch.float64)
    speaker = torch.zeros(n_spk**2, length, length, dtype=torch.float64)
    for i in range(length):
        for j in range(max(0, i - wp), min(length, i + wf + 1)):
            temporal[0 if j < i else 1 if j == i else 2, i, j] = 1
            speaker[speakers[i] * n_spk + speakers[j], i, j] = 1
    return temporal, speaker


@pytest.mark.parametrize(("wp", "wf"), [(2, 2), (1, 3), (0, 0)])
def test_relations_match_loops(wp: int, wf: int) -> None:
    model = GCNet({"text": 4}, 3, hidden=4, window_past=wp, window_future=wf).double()
    mask = torch.tensor([[True] * 6, [True] * 3 + [False] * 3])
    speakers = torch.tensor([[0, 1, 1, 0, 1, 0], [1, 0, 1, 0, 0, 0]])
    temporal, speaker = model.relations(mask, speakers)
    for b, n in enumerate([6, 3]):
        ref_t, ref_s = reference_edges(n, speakers[b, :n].tolist(), wp, wf, 2)
        torch.testing.assert_close(temporal[b, :, :n, :n], ref_t)
        torch.testing.assert_close(speaker[b, :, :n, :n], ref_s)
        assert temporal[b, :, n:].sum() == 0
        assert temporal[b, :, :, n:].sum() == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_relational_conv_matches_edge_loop(dtype: torch.dtype) -> None:
    torch.manual_seed(0)
    conv = RelationalGraphConv(5, 3, 2).to(dtype)
    x = torch.randn(1, 4, 5, dtype=dtype)
    relations = (torch.rand(1, 2, 4, 4) > 0.5).to(dtype)
    out = conv(x, relations)
    for i in range(4):
        expected = conv.root(x[0, i])
        for r in range(2):
            sources = [j for j in range(4) if relations[0, r, i, j] > 0]
            for j in sources:
                expected = expected + x[0, j] @ conv.weight[r] / len(sources)
        torch.testing.assert_close(out[0, i], expected)


def test_gcnet_requires_padding_last() -> None:
    model = GCNet({"text": 4}, 2, hidden=4)
    mask = torch.tensor([[False, True, True]])
    with pytest.raises(ValueError, match="prefix"):
        model({"text": torch.zeros(1, 3, 4)}, mask)
