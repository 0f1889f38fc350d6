"""Input preparation of the dense (segmentation) losses: one layout for every mode.

:func:`prepare_dense` validates logits, targets and weights and brings them onto a ``(N, C, S)``
layout (``S`` the flattened spatial size); the option checks of the dense losses live here too.
Multi-class targets go through :func:`weightwise._checks.prepare_class_target`, the one
preparation of class targets shared with the cross-entropy, focal and Lovász losses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from .._checks import (
    ClassTarget,
    DTypeError,
    assert_async,
    check_choice,
    check_float_logits,
    class_vector_like,
    format_index,
    prepare_class_target,
    value_check_mode,
)
from ..reduction import Reduction, _check_reduction, broadcast_weight

__all__ = [
    "DENSE_MODES",
    "EMPTY_MODES",
    "GD_WEIGHTS",
    "POOLINGS",
    "Dense",
    "check_alpha_beta",
    "check_binary_target",
    "check_options",
    "prepare_dense",
    "squeeze_binary_channel",
]

DENSE_MODES: tuple[str, ...] = ("binary", "multiclass", "multilabel")
POOLINGS: tuple[str, ...] = ("sample", "batch")
EMPTY_MODES: tuple[str, ...] = ("skip", "zero", "one")
GD_WEIGHTS: tuple[str, ...] = ("square", "simple", "uniform")


@dataclass
class Dense:
    """Inputs brought onto a common layout: ``S`` is the flattened spatial size."""

    logits: torch.Tensor  # (N, C, S) logits (with gradient)
    mode: str
    hard: torch.Tensor | None  # (N, S) int64 class indices (multiclass, hard targets)
    soft: torch.Tensor | None  # (N, C, S) float targets (binary, multilabel, soft multiclass)
    pixel: torch.Tensor | None  # (N, 1, S) or (N, C, S) pixel weight m (0 on ignored pixels)
    sample: torch.Tensor | None  # (N,) per-sample weight s_n
    class_weight: torch.Tensor | None  # (C,)
    valid: torch.Tensor | None = None  # (N, S) bool, False on ignored pixels (hard targets)
    # The multi-class target as prepare_class_target returns it, on the (N, d...) grid: the
    # Dice + cross-entropy fast path builds the cross-entropy's weights from it.
    classes: ClassTarget | None = None
    # Cross-entropy computed alongside the sums (CompoundLoss.dice_ce): per-pixel coefficient
    # c (N, S), or a scalar shared by every pixel, and class weight; its value lands in
    # ``ce_value``.
    ce_coef: torch.Tensor | None = None
    ce_class_weight: torch.Tensor | None = None
    ce_value: torch.Tensor | None = None
    _prob: torch.Tensor | None = None
    # The logits on their own grid (N, C, d...), before the flattening to (N, C, S): the
    # probabilities are computed there and then flattened, so that under torch.compile the
    # softmax is the same expression as the one of a cross-entropy on the same logits, and the
    # compiler shares the two (a softmax of the flattened view is not recognised: Dice + CE
    # compiled ran 1.15x the composition).
    grid_logits: torch.Tensor | None = None

    @property
    def prob(self) -> torch.Tensor:
        """``(N, C, S)`` probabilities: softmax over C (multiclass) or a sigmoid, on demand."""
        if self._prob is None:
            x = self.logits if self.grid_logits is None else self.grid_logits
            if self.mode == "multiclass":
                # softmax subtracts the per-pixel max first: no overflow for large logits.
                p = torch.softmax(x, dim=1)
            else:
                # Numerically stable: sigmoid saturates at 0 and 1 without overflow.
                p = torch.sigmoid(x)
            self._prob = p.reshape(self.logits.shape)
        return self._prob


def check_options(
    reduction: Reduction, pooling: str, smooth: float, empty: str | None = None
) -> None:
    """The options every set-level loss takes (``empty`` where it has one)."""
    _check_reduction(reduction)
    check_choice(pooling, "pooling", POOLINGS)
    if not (isinstance(smooth, (int, float)) and smooth >= 0):
        raise ValueError(f"smooth must be a non-negative number; got {smooth!r}")
    if empty is not None:
        check_choice(empty, "empty", EMPTY_MODES)


def check_alpha_beta(alpha: float, beta: float) -> None:
    """Tversky's ``α`` and ``β``: non-negative numbers."""
    for name, v in (("alpha", alpha), ("beta", beta)):
        if not (isinstance(v, (int, float)) and v >= 0):
            raise ValueError(f"{name} must be a non-negative number; got {v!r}")


def check_binary_target(target: torch.Tensor, ignore_index: int | None) -> None:
    """A binary / multi-label target: real, in ``[0, 1]`` or ``ignore_index`` (a value check)."""
    if target.is_complex():
        raise DTypeError(f"target must be real; got dtype {target.dtype}")
    mode = value_check_mode(target)
    if mode == "off" or target.numel() == 0 or target.dtype == torch.bool:
        return
    bad = ~torch.isfinite(target) | (target < 0) | (target > 1)
    if ignore_index is not None:
        bad &= target != ignore_index
    allowed = "[0, 1]" + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
    if mode == "async":
        assert_async(~bad.any(), f"target must be in {allowed}")
        return
    if bool(bad.any()):
        pos = int(torch.nonzero(bad.reshape(-1))[0, 0])
        raise ValueError(
            f"target must be in {allowed}; got {target.reshape(-1)[pos].item()!r} at "
            f"{format_index(pos, tuple(target.shape))}"
        )


def squeeze_binary_channel(
    logits: torch.Tensor, target: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary ``(N, 1, d...)`` logits become ``(N, d...)``; the target may carry the channel."""
    n, shape = logits.shape[0], tuple(logits.shape)
    if logits.dim() >= 2 and shape[1] == 1 and tuple(target.shape) in (shape, (n, *shape[2:])):
        return logits.reshape((n, *shape[2:])), target.reshape((n, *shape[2:]))
    return logits, target


def prepare_dense(
    logits: torch.Tensor,
    target: torch.Tensor,
    *,
    mode: str,
    sample_weight: Any,
    class_weight: Any,
    ignore_index: int | None,
) -> Dense:
    """Validate and flatten the inputs of every dense loss (probabilities, targets, weights)."""
    check_choice(mode, "mode", DENSE_MODES)
    check_float_logits(logits)
    if not isinstance(target, torch.Tensor):
        target = torch.as_tensor(target, device=logits.device)
    if logits.dim() < 1:
        raise ValueError("logits must have shape (N, ...); got a scalar")
    n = logits.shape[0]
    shape = tuple(logits.shape)
    tshape = tuple(target.shape)
    hard: torch.Tensor | None = None
    soft: torch.Tensor | None = None
    valid: torch.Tensor | None = None
    hard_valid: torch.Tensor | None = None
    classes: ClassTarget | None = None

    if mode == "multiclass":
        grid_logits = logits
        classes = prepare_class_target(logits, target, ignore_index=ignore_index)
        grid = classes.grid
        pixels = math.prod(grid[1:])  # explicit, not -1: an empty batch must reshape too
        if classes.soft:
            soft = classes.target.reshape(n, shape[1], pixels)
        else:
            hard = classes.safe.reshape(n, pixels)
            if classes.valid is not None:
                hard_valid = classes.valid.reshape(n, pixels)
                valid = hard_valid.unsqueeze(1)
        logits = logits.reshape(n, shape[1], pixels)
    else:
        if mode == "binary":
            logits, target = squeeze_binary_channel(logits, target)
            if tuple(target.shape) != tuple(logits.shape):
                expected = f"{(n, *shape[2:])} or {shape}" if shape[1:2] == (1,) else f"{shape}"
                raise ValueError(
                    f"target must have shape {expected} (binary mode, 0/1 per pixel) for logits "
                    f"of shape {shape}; got {tshape}"
                )
            grid = tuple(logits.shape)
            channels = 1
        else:
            if logits.dim() < 2:
                raise ValueError(
                    f"logits must have shape (N, C, d1, ...) in multilabel mode; got {shape}"
                )
            if tshape != shape:
                raise ValueError(
                    f"target must have the logits' shape {shape} in multilabel mode; got {tshape}"
                )
            grid = shape
            channels = shape[1]
        grid_logits = logits
        check_binary_target(target, ignore_index)
        # Explicit sizes, not -1: an empty batch (N = 0) must reshape too.
        pixels = math.prod(grid[1:]) // channels if mode == "multilabel" else math.prod(grid[1:])
        logits = logits.reshape(n, channels, pixels)
        target = target.reshape(n, channels, pixels).to(logits.dtype)
        if ignore_index is not None:
            valid = target != ignore_index
            target = torch.where(valid, target, torch.zeros_like(target))
        soft = target

    cw = class_vector_like(class_weight, logits)
    num_classes = logits.shape[1]
    pixel: torch.Tensor | None = None
    sample: torch.Tensor | None = None
    if sample_weight is not None:
        sw = (
            sample_weight
            if isinstance(sample_weight, torch.Tensor)
            else torch.as_tensor(sample_weight)
        )
        if mode == "binary" and len(shape) >= 2 and shape[1] == 1 and tuple(sw.shape) == shape:
            sw = sw.reshape(grid)  # a weight with the logits' (N, 1, d...) shape
        if sw.dim() == 0 or tuple(sw.shape) == (n,):
            # a scalar or (N,): one weight per sample
            sample = broadcast_weight(sw, (n,), name="sample_weight", like=logits)
        else:
            # a per-pixel map (any leading prefix of the grid; multilabel: (N, C) too)
            w = broadcast_weight(
                sw,
                grid,
                name="sample_weight",
                class_axis=mode == "multilabel" and len(grid) >= 3,
                like=logits,
            )
            pixel = w.reshape(n, num_classes if mode == "multilabel" else 1, logits.shape[2])
    if valid is not None:
        v = valid.to(logits.dtype)
        pixel = v if pixel is None else pixel * v
    return Dense(
        logits,
        mode,
        hard,
        soft,
        pixel,
        sample,
        cw,
        valid=hard_valid,
        classes=classes,
        grid_logits=grid_logits,
    )
