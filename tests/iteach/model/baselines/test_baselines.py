"""The five baselines: shapes, padding, missing modalities, gradients, losses, training."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from erc_data import collate_conversations, synthetic
from iteach_app.model.baselines import BASELINES, MMIN

DIMS = {"text": 8, "audio": 4, "video": 6}
SMALL = {
    "ae": {"embed_dim": 8, "cls_layers": (8,), "ae_layers": (8, 4)},
    "cra": {"embed_dim": 8, "cls_layers": (8,), "ae_layers": (8, 4), "n_blocks": 2},
    "mmin": {"embed_dim": 8, "cls_layers": (8,), "ae_layers": (8, 4), "n_blocks": 2},
    "gcnet": {"hidden": 8},
    "cpm": {"latent_dim": 8},
}
NAMES = sorted(BASELINES)


def build(name: str, out_dim: int = 4, dtype: torch.dtype = torch.float32) -> torch.nn.Module:
    torch.manual_seed(0)
    return BASELINES[name](DIMS, out_dim, **SMALL[name]).to(dtype)


def inputs(dtype: torch.dtype = torch.float32, seed: int = 0) -> dict:
    """Two conversations (lengths 7 and 4, padded to 7), random present mask, two speakers."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3])
    present = torch.rand(2, 7, 3, generator=g) > 0.4
    present[..., 0] |= ~present.any(-1)
    present &= mask.unsqueeze(-1)
    complete = {
        m: torch.randn(2, 7, d, generator=g, dtype=dtype) * mask.unsqueeze(-1)
        for m, d in DIMS.items()
    }
    masked = {m: x * present[..., i : i + 1] for i, (m, x) in enumerate(complete.items())}
    speakers = torch.randint(0, 2, (2, 7), generator=g) * mask
    return {"features": masked, "utterance_mask": mask, "present": present, "speakers": speakers,
            "complete": complete}  # fmt: skip


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_and_auxiliary_loss(name: str, dtype: torch.dtype) -> None:
    model = build(name, dtype=dtype)
    logits = model(**inputs(dtype))
    assert logits.shape == (2, 7, 4)
    assert logits.dtype == dtype
    aux = model.auxiliary_loss()
    assert aux.dim() == 0
    assert torch.isfinite(aux)
    assert aux > 0


@pytest.mark.parametrize("name", NAMES)
def test_padding_rows_do_not_affect_real_rows(name: str) -> None:
    model = build(name, dtype=torch.float64).eval()
    x = inputs(torch.float64)
    out = model(**x)
    aux = model.auxiliary_loss()
    pad = ~x["utterance_mask"]
    noisy = {
        m: f + 100.0 * pad.unsqueeze(-1) * torch.randn_like(f) for m, f in x["features"].items()
    }
    out_noisy = model(**{**x, "features": noisy, "speakers": x["speakers"] + pad.long()})
    real = x["utterance_mask"]
    torch.testing.assert_close(out_noisy[real], out[real])
    torch.testing.assert_close(model.auxiliary_loss(), aux)
    alone = {m: f[1:, :4] for m, f in x["features"].items()}
    out_alone = model(alone, real[1:, :4], x["present"][1:, :4], x["speakers"][1:, :4],
                      complete={m: f[1:, :4] for m, f in x["complete"].items()})  # fmt: skip
    torch.testing.assert_close(out_alone[0], out[1, :4])


@pytest.mark.parametrize("name", NAMES)
def test_missing_modalities_values_are_ignored(name: str) -> None:
    model = build(name, dtype=torch.float64).eval()
    x = inputs(torch.float64)
    out = model(**x)
    garbage = {m: f + 50.0 * (~x["present"][..., i : i + 1]) * torch.randn_like(f)
               for i, (m, f) in enumerate(x["features"].items())}  # fmt: skip
    torch.testing.assert_close(model(**{**x, "features": garbage}), out)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_inference_parameter(name: str) -> None:
    model = build(name)
    logits = model(**inputs())
    (logits.square().mean() + model.auxiliary_loss()).backward()
    for pname, p in model.named_parameters():
        if not pname.startswith("teacher."):
            assert p.grad is not None, pname
            assert torch.isfinite(p.grad).all(), pname
            assert p.grad.abs().sum() > 0, pname


@pytest.mark.parametrize("name", NAMES)
def test_regression_output(name: str) -> None:
    model = build(name, out_dim=1)
    assert model(**inputs()).shape == (2, 7, 1)


@pytest.mark.parametrize("name", NAMES)
def test_reconstruction_without_complete_uses_present_modalities(name: str) -> None:
    model = build(name, dtype=torch.float64).eval()
    x = inputs(torch.float64)
    x.pop("complete")
    model(**x)
    assert torch.isfinite(model.auxiliary_loss())
    assert model.auxiliary_loss() > 0


def test_speaker_flag() -> None:
    assert {n for n, c in BASELINES.items() if c.uses_speakers} == {"gcnet"}


@pytest.mark.parametrize("name", NAMES)
def test_bad_inputs_give_clear_errors(name: str) -> None:
    model = build(name)
    x = inputs()
    renamed = {("speech" if m == "audio" else m): f for m, f in x["features"].items()}
    with pytest.raises(KeyError, match="speech"):
        model(renamed, x["utterance_mask"])
    wide = {**x["features"], "audio": torch.zeros(2, 7, 5)}
    with pytest.raises(ValueError, match=r"features\['audio'\] has shape \(2, 7, 5\)"):
        model(wide, x["utterance_mask"])
    with pytest.raises(ValueError, match="present has shape"):
        model(x["features"], x["utterance_mask"], x["present"][..., :2])
    with pytest.raises(ValueError, match="modality_dims"):
        BASELINES[name]({"text": 0}, 4)


def test_gcnet_rejects_speakers_out_of_range() -> None:
    model = build("gcnet")
    x = inputs()
    with pytest.raises(ValueError, match=r"speakers must be in 0\.\.1"):
        model(**{**x, "speakers": x["speakers"] + 1})


@pytest.mark.parametrize("name", NAMES)
def test_training_steps_reduce_the_loss(name: str) -> None:
    data = synthetic.iemocap_like(4, seed=1, num_dialogues=8, dims=DIMS, max_length=12)
    batch = collate_conversations([data[i] for i in range(len(data))])
    torch.manual_seed(0)
    no_dropout = {} if name == "cpm" else {"dropout": 0.0}
    model = BASELINES[name](DIMS, 4, **SMALL[name], **no_dropout)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    real = batch.utterance_mask

    def step() -> float:
        logits = model(batch.features, real, None, batch.speakers, complete=batch.features)
        task = F.cross_entropy(logits[real], batch.labels[real])
        opt.zero_grad()
        (task + model.auxiliary_loss()).backward()
        opt.step()
        return task.item()

    first = step()
    for _ in range(30):
        last = step()
    assert last < 0.7 * first


def test_mmin_pretraining_protocol() -> None:
    model = build("mmin")
    assert isinstance(model, MMIN)
    x = inputs()
    labels = torch.randint(0, 4, (2, 7))
    loss = model.pretrain_loss(x["complete"], x["utterance_mask"], labels)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.teacher.classifier[0].weight.grad is not None
    model.finish_pretraining()
    for key, value in model.teacher.encoders.state_dict().items():
        torch.testing.assert_close(model.encoders.state_dict()[key], value)
    model.train()
    assert not model.teacher.training
    assert model.encoders.training
    assert not any(p.requires_grad for p in model.teacher.parameters())
    assert model.inference_parameters() < sum(p.numel() for p in model.parameters())
