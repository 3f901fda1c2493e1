"""InvertedTeacherStudent: task loss of both models + distance between their last hidden states."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from its_distill.calling import OutputKey, call_model, logits_of, split_returned_states
from its_distill.capture import HiddenStateCapture, resolve_module
from its_distill.losses import DISTANCES, REGRESSION_LOSSES, TASKS, masked_distance, task_loss
from its_distill.masks import check_mask, combine
from its_distill.output import ITSOutput
from its_distill.output_states import OutputState, model_classes, model_width, parse_output_state
from its_distill.widths import infer_width

PAPER_LAYER_WEIGHTS = (0.5, 0.1, 0.05)
PROJECTORS = ("auto", "always")


def _layer_names(layers: Sequence[str] | None, count: int) -> tuple[str, ...]:
    if layers is None:
        return tuple(f"hidden_states[{k}]" for k in range(count))
    return tuple(repr(path) for path in layers)


def _check_length(values: Sequence[Any] | None, name: str, count: int) -> tuple[Any, ...] | None:
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise TypeError(f"{name} must be a sequence (list or tuple), not {type(values).__name__}")
    if len(values) != count:
        raise ValueError(
            f"{name} has {len(values)} entries but layer_weights has {count}; give one per layer"
        )
    return tuple(values)


def _check_dims(dims: Sequence[int | None] | None, name: str, count: int) -> tuple[int | None, ...]:
    checked = _check_length(dims, name, count) or (None,) * count
    for dim in checked:
        if dim is not None and (not isinstance(dim, int) or isinstance(dim, bool) or dim < 1):
            raise ValueError(f"{name} entries must be positive ints or None, got {dim!r}")
    return checked


def _specs(layers: tuple[str, ...] | None) -> tuple[OutputState | None, ...]:
    """Per layer: the parsed output spec (``hidden_states[-1]``), or None for a module path."""
    return tuple(parse_output_state(layer) for layer in layers or ())


def _is_pooling(module: nn.Module) -> bool:
    """A parameter-free module that pools or flattens (its width is the model's features)."""
    return isinstance(module, (nn.Flatten, nn.Identity)) or "Pool" in type(module).__name__


def _padded(state: torch.Tensor, positions: torch.Size) -> torch.Tensor:
    """A nested tensor (PyTorch's fast path, e.g. nn.TransformerEncoder in eval) as padded."""
    if not state.is_nested:
        return state
    return torch.nested.to_padded_tensor(state, 0.0, output_size=(*positions, state.size(-1)))


class InvertedTeacherStudent(nn.Module):
    """Train a teacher on complete inputs and a student on incomplete ones, end to end.

    `loss = (teacher_loss + student_loss) / 2 + sum_k layer_weights[k] * distance_k`, where
    `distance_k` is the mean, over positions that are `valid` and in `distill_where`, of the squared
    L2 distance (averaged over features) between the student's k-th hidden state (projected to the
    teacher's width where the widths differ) and the teacher's, which is detached. `distance`
    picks the distance (`losses.masked_distance`): "mse" (that, the paper's form),
    "normalized_mse" (each row standardised first, scale-free) or "cosine". `projector`:
    "auto" builds a learned projection where the widths differ, "always" on every layer (the
    student then matches the teacher up to a linear map instead of in its exact coordinates).

    Hidden states come from forward hooks on `teacher_layers` / `student_layers` (module paths as in
    `named_modules()`, nearest-the-output first; a tuple output contributes its first element),
    from the model's output where a layer is a spec like `hidden_states[-1]` (a Hugging Face model
    called with `output_hidden_states=True`; see `output_states`), or, where the layers are None,
    from the model itself returning `(logits, hidden_states)`. They must be shaped like the target
    plus a feature dim: (B, L, D) for a (B, L) target, (B, D) for (B,).

    Widths (for the projections, built here so an optimizer sees them) come from `teacher_dims` /
    `student_dims` where given, else from `its_distill.widths.infer_width` on the hooked module;
    for an output spec, or a pooling / flattening module of no width of its own, from the model's
    `config.hidden_size` (Hugging Face) or `num_features` (timm).
    Where a width stays unknown no projection is built, and a width mismatch at the first forward
    raises an error asking for the dims. `teacher=None` is PRE: the student and its task loss alone.
    `freeze_teacher=True` keeps a pretrained teacher fixed (no grad, eval mode): the task loss is
    then the student's alone. `output_key` reads the logits from what both models return (a key of
    a dict or Hugging Face `ModelOutput`, an index, or a callable; see `calling.logits_of`).
    For classification, logits whose last dim is not `num_classes` (default: a Hugging Face
    model's `config.num_labels`) are an error: e.g. `output_key="last_hidden_state"` by mistake.
    """

    def __init__(
        self,
        teacher: nn.Module | None,
        student: nn.Module,
        *,
        teacher_layers: Sequence[str] | None = None,
        student_layers: Sequence[str] | None = None,
        layer_weights: Sequence[float] = PAPER_LAYER_WEIGHTS,
        task: str = "classification",
        regression_loss: str = "mse",
        freeze_teacher: bool = False,
        teacher_dims: Sequence[int | None] | None = None,
        student_dims: Sequence[int | None] | None = None,
        output_key: OutputKey = None,
        num_classes: int | None = None,
        distance: str = "mse",
        projector: str = "auto",
    ) -> None:
        super().__init__()
        if distance not in DISTANCES:
            raise ValueError(f"distance must be one of {DISTANCES}, not {distance!r}")
        if projector not in PROJECTORS:
            raise ValueError(f"projector must be one of {PROJECTORS}, not {projector!r}")
        if num_classes is not None and task != "classification":
            raise ValueError("num_classes applies to task='classification' only")
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, not {task!r}")
        if regression_loss not in REGRESSION_LOSSES:
            raise ValueError(
                f"regression_loss must be one of {REGRESSION_LOSSES}, not {regression_loss!r}"
            )
        if num_classes is not None and (isinstance(num_classes, bool) or num_classes < 1):
            raise ValueError(f"num_classes must be a positive int or None, got {num_classes!r}")
        if teacher is None and freeze_teacher:
            raise ValueError("freeze_teacher=True needs a teacher (teacher is None: PRE)")
        weights = tuple(float(w) for w in layer_weights)
        if not all(math.isfinite(w) and w >= 0 for w in weights):
            raise ValueError(f"layer_weights must be finite and >= 0, got {weights}")
        if teacher is not None and not weights:
            raise ValueError("layer_weights is empty: give one weight per distilled layer")
        count = len(weights)
        self.teacher = teacher
        self.student = student
        self.layer_weights = weights
        self.task = task
        self.regression_loss = regression_loss
        self.freeze_teacher = freeze_teacher
        self.output_key = output_key
        self.num_classes = num_classes
        self.distance = distance
        self.teacher_layers = _check_length(teacher_layers, "teacher_layers", count)
        self.student_layers = _check_length(student_layers, "student_layers", count)
        teacher_dims = _check_dims(teacher_dims, "teacher_dims", count)
        student_dims = _check_dims(student_dims, "student_dims", count)
        self._teacher_names = _layer_names(self.teacher_layers, count)
        self._student_names = _layer_names(self.student_layers, count)
        self._teacher_specs = _specs(self.teacher_layers)
        self._student_specs = _specs(self.student_layers)
        self._teacher_capture = self._capture(teacher, self.teacher_layers)
        self._student_capture = self._capture(student, self.student_layers)
        self._teacher_widths = self._widths(teacher, self.teacher_layers, teacher_dims)
        self._student_widths = self._widths(student, self.student_layers, student_dims)
        if projector == "always" and teacher is not None:
            unknown = [
                k
                for k, (dt, ds) in enumerate(
                    zip(self._teacher_widths, self._student_widths, strict=True)
                )
                if dt is None or ds is None
            ]
            if unknown:
                raise ValueError(
                    f"projector='always' needs every layer's widths; unknown for layers "
                    f"{unknown}: pass teacher_dims= and student_dims="
                )
        self.projector = projector
        self.projections = nn.ModuleDict(
            {
                str(k): nn.Linear(ds, dt)
                for k, (dt, ds) in enumerate(
                    zip(self._teacher_widths, self._student_widths, strict=True)
                )
                if teacher is not None
                and dt is not None
                and ds is not None
                and (dt != ds or projector == "always")
            }
        )
        if freeze_teacher:
            teacher.requires_grad_(False)
            teacher.eval()

    def _capture(
        self, model: nn.Module | None, layers: tuple[str, ...] | None
    ) -> HiddenStateCapture | None:
        """Hooks on the layers given as module paths (output specs need none)."""
        if model is None or layers is None:
            return None
        paths = [layer for layer, spec in zip(layers, _specs(layers), strict=True) if not spec]
        if self.teacher is None:
            for path in paths:
                resolve_module(model, path)
            return None
        return HiddenStateCapture(model, paths, enabled=False) if paths else None

    @staticmethod
    def _widths(
        model: nn.Module | None, layers: tuple[str, ...] | None, dims: tuple[int | None, ...]
    ) -> tuple[int | None, ...]:
        """Each layer's width: given, else inferred from its module or from the model."""
        if model is None or layers is None:
            return dims
        widths = []
        for dim, layer, spec in zip(dims, layers, _specs(layers), strict=True):
            if dim is None and spec is not None:
                dim = model_width(model)
            elif dim is None:
                module = resolve_module(model, layer)
                dim = infer_width(module)
                if dim is None and _is_pooling(module):
                    dim = model_width(model)
            widths.append(dim)
        return tuple(widths)

    def train(self, mode: bool = True) -> InvertedTeacherStudent:
        """As nn.Module.train, except that a frozen teacher stays in eval mode."""
        super().train(mode)
        if self.freeze_teacher and self.teacher is not None:
            self.teacher.eval()
        return self

    def _run(
        self,
        model: nn.Module,
        capture: HiddenStateCapture | None,
        layers: tuple[str, ...] | None,
        inputs: Any,
        name: str,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Logits and hidden states (nearest-the-output first) of one model on `inputs`."""
        if layers is None:
            return split_returned_states(call_model(model, inputs), name, len(self.layer_weights))
        if capture is None:
            output, hooked = call_model(model, inputs), {}
        else:
            with capture.recording():
                output = call_model(model, inputs)
                hooked = dict(zip(capture.paths, capture.states(), strict=True))
            capture.clear()
        specs = self._teacher_specs if model is self.teacher else self._student_specs
        states = tuple(
            spec.read(output, name) if spec is not None else hooked[layer]
            for layer, spec in zip(layers, specs, strict=True)
        )
        return self._logits(model, output, name), states

    def _logits(self, model: nn.Module, output: Any, name: str) -> torch.Tensor:
        """The logits of ``output``; for classification, checked against the class count."""
        logits = logits_of(output, name, self.output_key)
        if self.task != "classification" or callable(self.output_key):
            return logits
        expected = self.num_classes or model_classes(model)
        if expected is not None and (logits.dim() == 0 or logits.shape[-1] != expected):
            via = "" if self.output_key is None else f" read with output_key={self.output_key!r}"
            source = "num_classes" if self.num_classes else f"the {name}'s config.num_labels"
            raise ValueError(
                f"the {name}'s logits{via} have shape {tuple(logits.shape)}, but {source} is "
                f"{expected}: the last dim must be the {expected} classes (does output_key name "
                f"the logits? a model returning (hidden, logits) needs output_key=1)"
            )
        return logits

    def _check_same_width(self, teacher: torch.Tensor, student: torch.Tensor) -> None:
        """Classification logits of teacher and student must have one width (the classes)."""
        if self.task == "classification" and teacher.shape[-1:] != student.shape[-1:]:
            raise ValueError(
                f"teacher logits have shape {tuple(teacher.shape)} and student logits "
                f"{tuple(student.shape)}: their last dims (the classes) differ; does one model "
                "return (hidden, logits)? pass output_key= to pick the logits"
            )

    def remove_hooks(self) -> None:
        """Unregister the forward hooks from both models (the wrapper can no longer distill)."""
        for capture in (self._teacher_capture, self._student_capture):
            if capture is not None:
                capture.remove()

    def predict(self, student_inputs: Any) -> torch.Tensor:
        """Student logits (B, L, C) / (B, C), or values, from the student alone (no teacher)."""
        return self._logits(self.student, call_model(self.student, student_inputs), "student")

    def forward(
        self,
        teacher_inputs: Any,
        student_inputs: Any,
        target: torch.Tensor,
        *,
        valid: torch.Tensor | None = None,
        distill_where: torch.Tensor | None = None,
    ) -> ITSOutput:
        """One step: teacher on complete inputs, student on incomplete ones, target (B, L) / (B,).

        `valid` (shaped like target, bool) marks real positions (False on padding);
        `distill_where` (same shape) marks where the student's input had something missing.
        Either None means everywhere.
        """
        if not isinstance(target, torch.Tensor):
            raise TypeError(f"target must be a tensor, not {type(target).__name__}")
        positions = target.shape
        valid = check_mask(valid, "valid", positions)
        distill_where = check_mask(distill_where, "distill_where", positions)
        losses = {"task": self.task, "regression_loss": self.regression_loss}
        if self.teacher is None:
            student_logits = self.predict(student_inputs)
            student_loss = task_loss(student_logits, target, valid, **losses, name="student")
            zero = student_loss.new_zeros(())
            return ITSOutput(
                student_loss, student_loss, zero, None, student_loss, (), None, student_logits
            )
        if teacher_inputs is None:
            raise ValueError("teacher_inputs is None but the wrapper has a teacher")
        student_logits, student_states = self._run(
            self.student, self._student_capture, self.student_layers, student_inputs, "student"
        )
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_teacher):
            teacher_logits, teacher_states = self._run(
                self.teacher, self._teacher_capture, self.teacher_layers, teacher_inputs, "teacher"
            )
        self._check_same_width(teacher_logits, student_logits)
        student_loss = task_loss(student_logits, target, valid, **losses, name="student")
        teacher_loss = task_loss(teacher_logits, target, valid, **losses, name="teacher")
        both = student_loss if self.freeze_teacher else (teacher_loss + student_loss) / 2
        where = combine(valid, distill_where)
        distances = tuple(
            self._distance(k, s, t.detach(), where, positions)
            for k, (s, t) in enumerate(zip(student_states, teacher_states, strict=True))
        )
        distill = sum(
            (w * d for w, d in zip(self.layer_weights, distances, strict=True)),
            start=student_loss.new_zeros(()),
        )
        return ITSOutput(
            both + distill,
            both,
            distill,
            teacher_loss,
            student_loss,
            distances,
            teacher_logits,
            student_logits,
        )

    def _distance(
        self,
        k: int,
        student: torch.Tensor,
        teacher: torch.Tensor,
        where: torch.Tensor | None,
        positions: torch.Size,
    ) -> torch.Tensor:
        """Distance of layer k over the selected positions (0 where none is selected)."""
        student, teacher = _padded(student, positions), _padded(teacher, positions)
        self._check_states(k, student, teacher, positions)
        if where is None:
            student_rows = student.reshape(-1, student.shape[-1])
            teacher_rows = teacher.reshape(-1, teacher.shape[-1])
        else:
            student_rows, teacher_rows = student[where], teacher[where]
        key = str(k)
        if key in self.projections:
            student_rows = self.projections[key](student_rows)
        return masked_distance(student_rows, teacher_rows, self.distance)

    def _check_states(
        self, k: int, student: torch.Tensor, teacher: torch.Tensor, positions: torch.Size
    ) -> None:
        """Clear errors for hidden states that no projection can reconcile."""
        t_name, s_name = self._teacher_names[k], self._student_names[k]
        described = (
            f"teacher layer {t_name} gives shape {tuple(teacher.shape)} and student layer "
            f"{s_name} gives shape {tuple(student.shape)}"
        )
        if student.dim() == 0 or teacher.dim() == 0 or student.shape[:-1] != teacher.shape[:-1]:
            raise ValueError(
                f"{described}: they must agree on every dim but the last (features); "
                f"a projection only maps the feature width"
            )
        if student.shape[:-1] != positions:
            raise ValueError(
                f"{described}, but the target has shape {tuple(positions)}: hidden states must be "
                f"{(*positions, 'D')} (batch first, one row per target position)"
            )
        expected_t, expected_s = self._teacher_widths[k], self._student_widths[k]
        width_t, width_s = teacher.shape[-1], student.shape[-1]
        if str(k) in self.projections:
            if (width_t, width_s) != (expected_t, expected_s):
                raise ValueError(
                    f"{described}, but the projection for layer {k} was built for widths "
                    f"teacher {expected_t} / student {expected_s} (inferred at construction); "
                    f"pass teacher_dims= and student_dims= with the true widths"
                )
        elif width_t != width_s:
            raise ValueError(
                f"{described}: widths {width_t} and {width_s} differ but no projection was built "
                f"(widths known at construction: teacher {expected_t}, student {expected_s}); "
                f"pass teacher_dims= and student_dims= so the wrapper builds one"
            )

    def extra_repr(self) -> str:
        return (
            f"task={self.task!r}, distance={self.distance!r}, layer_weights={self.layer_weights}, "
            f"teacher_layers={self.teacher_layers}, student_layers={self.student_layers}, "
            f"freeze_teacher={self.freeze_teacher}"
        )
