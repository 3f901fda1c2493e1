"""ITEACHNet: shapes for every modality subset, padding invariance, present-masking, hooks,
parameter groups, gradients, float64 and clear errors."""

from __future__ import annotations

import itertools

import pytest
import torch

from iteach_app.model import ITEACHNet, Router, create_model

DIMS = {"text": 12, "audio": 6, "video": 10}
SMALL = {"hidden_dim": 16, "num_heads": 2, "ecce_dim": 4, "window": 3, "max_distance": 4}
SUBSETS = [
    dict.fromkeys(names)
    for r in (1, 2, 3)
    for names in itertools.combinations(("text", "audio", "video"), r)
]


def _model(mixer: str = "attention", dims=DIMS, **kw) -> ITEACHNet:
    torch.manual_seed(0)
    kw = {**SMALL, "num_layers": 2, **kw}
    return ITEACHNet(dims, 3, mixer=mixer, **kw).eval()


def _open_gates(model: ITEACHNet) -> ITEACHNet:
    """Set every zero-initialised fusion gate to 0.5 (as after some training), so the other
    modalities reach the output."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(".gate"):
                param.fill_(0.5)
    return model


def _inputs(lengths, dims=DIMS, seed: int = 0, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    length = max(lengths)
    mask = torch.arange(length)[None, :] < torch.tensor(lengths)[:, None]
    features = {
        name: torch.randn(len(lengths), length, dim, generator=gen, dtype=dtype) * mask[..., None]
        for name, dim in dims.items()
    }
    return features, mask


@pytest.mark.parametrize("mixer", ["attention", "nas"])
@pytest.mark.parametrize("names", SUBSETS, ids=lambda names: "+".join(names))
def test_shapes_for_every_modality_subset(mixer: str, names: dict) -> None:
    dims = {name: DIMS[name] for name in names}
    model = _model(mixer, dims)
    features, mask = _inputs((5, 2), dims)
    present = torch.ones(2, 5, len(dims), dtype=torch.bool)
    logits = model(features, mask, present)
    assert logits.shape == (2, 5, 3)
    assert torch.isfinite(logits).all()
    assert model.modalities[0] == ("text" if "text" in dims else next(iter(dims)))


def test_query_modality_comes_first() -> None:
    model = _model(dims={"audio": 6, "video": 10, "text": 12})
    assert model.modalities == ("text", "audio", "video")
    assert model.layers[0].fusion.sources == ("audio", "video")


@pytest.mark.parametrize("mixer", ["attention", "nas"])
@pytest.mark.parametrize("ecce", ["full", "global", "none"])
def test_padding_never_leaks(mixer: str, ecce: str) -> None:
    model = _model(mixer, ecce=ecce)
    features, mask = _inputs((9, 4), seed=1)
    batched = model(features, mask)
    alone = model({k: v[1:2, :4] for k, v in features.items()}, mask[1:2, :4])
    torch.testing.assert_close(batched[1:2, :4], alone, atol=1e-5, rtol=1e-4)
    garbage = {
        k: torch.where(mask[..., None], v, torch.full_like(v, 7.0)) for k, v in features.items()
    }
    torch.testing.assert_close(model(garbage, mask)[mask], batched[mask], atol=1e-5, rtol=1e-4)


def test_missing_modality_key_is_named() -> None:
    model = _model()
    features, mask = _inputs((3,))
    del features["audio"]
    with pytest.raises(KeyError, match="'audio'"):
        model(features, mask)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda f, m, p: ({**f, "video": f["video"][..., :3]}, m, p), r"features\['video'\]"),
        (lambda f, m, p: (f, m.float(), p), "utterance_mask"),
        (lambda f, m, p: (f, m, p[..., :2]), "present"),
    ],
)
def test_bad_inputs_get_clear_errors(change, match: str) -> None:
    model = _model()
    features, mask = _inputs((3,))
    present = torch.ones(1, 3, 3, dtype=torch.bool)
    with pytest.raises((ValueError, TypeError), match=match):
        model(*change(features, mask, present))


@pytest.mark.parametrize("mixer", ["attention", "nas"])
def test_missing_audio_values_do_not_affect_output(mixer: str) -> None:
    model = _open_gates(_model(mixer))
    features, mask = _inputs((6, 4), seed=2)
    present = mask[..., None].repeat(1, 1, 3)
    present[0, 2, 1] = False  # audio of utterance 2 of conversation 0 is missing
    before = model(features, mask, present)
    changed = dict(features)
    changed["audio"] = features["audio"].clone()
    changed["audio"][0, 2] = 1e3
    after = model(changed, mask, present)
    torch.testing.assert_close(before, after)
    present[0, 2, 1] = True
    assert not torch.allclose(model(changed, mask, present), before)


@pytest.mark.parametrize("mixer", ["attention", "nas"])
def test_whole_conversation_missing_audio_gives_no_nan(mixer: str) -> None:
    model = _model(mixer).train()
    features, mask = _inputs((6, 4), seed=3)
    present = mask[..., None].repeat(1, 1, 3)
    present[1, :, 1] = False
    present[:, :, 2] = False
    logits = model(features, mask, present)
    assert torch.isfinite(logits).all()
    logits[mask].sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_router_weights_after_forward() -> None:
    model = _model("nas", num_layers=3)
    features, mask = _inputs((5, 3))
    model(features, mask)
    weights = model.router_weights
    assert len(weights) == 3
    for w in weights:
        assert w.shape == (2, 5, 4)
        torch.testing.assert_close(w.sum(-1), torch.ones(2, 5))
    per_modality = model.router_weights_per_modality
    assert set(per_modality[0]) == {"text", "audio", "video"}
    assert _model("attention").router_weights == []


@pytest.mark.parametrize(
    ("mixer", "dims"), [("attention", DIMS), ("nas", DIMS), ("nas", {"text": 12})]
)
def test_hidden_layer_paths_hook_fused_states(mixer: str, dims: dict) -> None:
    model = _model(mixer, dims, num_layers=3)
    paths = model.hidden_layer_paths(3)
    assert paths == ["taps.2", "taps.1", "taps.0"]
    captured = {}
    modules = dict(model.named_modules())
    handles = [
        modules[p].register_forward_hook(lambda _m, _i, out, p=p: captured.__setitem__(p, out))
        for p in paths
    ]
    features, mask = _inputs((5, 3), dims)
    logits = model(features, mask)
    for handle in handles:
        handle.remove()
    for path in paths:
        assert captured[path].shape == (2, 5, 16)
    torch.testing.assert_close(logits, model.head(model.norm(captured[paths[0]])))
    with pytest.raises(ValueError, match="k must be"):
        model.hidden_layer_paths(4)


def test_parameter_groups_split_router_params() -> None:
    model = _model("nas")
    groups = {g["name"]: g for g in model.parameter_groups(1e-3, 1e-2, 0.05)}
    router = {id(p) for m in model.modules() if isinstance(m, Router) for p in m.parameters()}
    assert {id(p) for p in groups["router"]["params"]} == router
    assert groups["router"]["lr"] == 1e-2
    assert groups["decay"]["lr"] == groups["no_decay"]["lr"] == 1e-3
    assert groups["no_decay"]["weight_decay"] == 0.0
    assert all(p.ndim == 1 for p in groups["no_decay"]["params"])
    seen = [id(p) for g in groups.values() for p in g["params"]]
    assert sorted(seen) == sorted(id(p) for p in model.parameters())
    torch.optim.AdamW(model.parameter_groups(1e-3, 1e-2, 0.05))
    assert "router" not in {g["name"] for g in _model().parameter_groups(1e-3, 1e-2, 0.05)}


@pytest.mark.parametrize("mixer", ["attention", "nas"])
def test_gradients_reach_every_parameter(mixer: str) -> None:
    model = _open_gates(_model(mixer)).train()
    features, mask = _inputs((5, 3), seed=4)
    model(features, mask)[mask].pow(2).sum().backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum()]
    assert no_grad == []


def test_float64_forward_and_backward() -> None:
    model = _model("nas").double()
    features, mask = _inputs((5, 2), dtype=torch.float64)
    logits = model(features, mask)
    assert logits.dtype == torch.float64
    logits[mask].sum().backward()


def test_ecce_biases_shapes_and_modes() -> None:
    features, mask = _inputs((5, 2))
    biases = _model().ecce_biases(features, mask)
    assert set(biases) == {"text", "audio", "video"}
    assert all(b.shape == (2, 2, 5, 5) for b in biases.values())
    assert _model(ecce="none").ecce_biases(features, mask) == {}


def test_builders_use_paper_layouts_and_overrides() -> None:
    teacher = create_model("iteach_teacher", DIMS, 4, **SMALL)
    student = create_model("iteach_student", DIMS, 4, **SMALL)
    assert (len(teacher.layers), teacher.mixer_kind) == (3, "attention")
    assert (len(student.layers), student.mixer_kind) == (4, "nas")
    assert (
        create_model("iteach_student", DIMS, 4, mixer="attention", num_layers=2, **SMALL).mixer_kind
        == "attention"
    )


@pytest.mark.parametrize(
    ("kw", "match"),
    [({"mixer": "conv"}, "mixer"), ({"ecce": "local"}, "ecce"), ({"num_layers": 0}, "num_layers")],
)
def test_bad_construction_is_refused(kw: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ITEACHNet(DIMS, 3, **kw)
    with pytest.raises(ValueError, match="modality_dims"):
        ITEACHNet({}, 3)


def test_registry_builds_presets_by_name_and_names_unknown_ones() -> None:
    from iteach_app.model import create_model, model_names

    assert {"attention", "nas", "iteach_teacher", "iteach_student"} <= set(model_names())
    teacher = create_model("iteach_teacher", DIMS, 4, num_layers=None, **SMALL)
    assert (len(teacher.layers), teacher.mixer_kind) == (3, "attention")
    assert create_model("nas", DIMS, 4, num_layers=2, **SMALL).mixer_kind == "nas"
    with pytest.raises(KeyError, match="unknown model 'lstm'; registered: ae, attention"):
        create_model("lstm", DIMS, 4)
