"""Keras 3 losses under the weighting contract, written with ``keras.ops`` (every backend).

Each loss is a :class:`keras.losses.Loss`. ``call(y_true, y_pred)`` returns the class-weighted
element losses ``κ·L`` on the element grid (what ``reduction="none"`` gives without a sample
weight), and ``__call__(y_true, y_pred, sample_weight=None)`` applies the sample weight ``s``
and *our* reduction, so that Keras' own ``sum_over_batch_size`` never renormalises the result.
That is the path ``model.fit`` takes: the ``sample_weight`` it passes (from arrays, from
``class_weight=`` or from ``(x, y, w)`` batches) is ``s``.

Layout is Keras', channels last: predictions are ``(N, C)`` or ``(N, d1, ..., dk, C)``, and the
element grid of the softmax losses is ``(N, d1, ..., dk)``. Each loss equals its torch twin in
:mod:`weightwise.losses` on the same inputs (with the class axis moved to dim 1 there).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keras import config as keras_config
from keras import losses as keras_losses
from keras import ops

from .._checks import check_nonnegative_real
from .._contract import Reduction
from ._common import (
    broadcast_weight,
    check_reduction,
    check_values,
    class_vector,
    dims,
    numel,
    reduce,
    shape_of,
    validate_class_weight,
)

__all__ = [
    "AnyOf",
    "BinaryCrossEntropy",
    "BinaryFocal",
    "CrossEntropy",
    "Dice",
    "Focal",
    "LogitAdjusted",
]

# Stands in for -inf in masked log-sum-exps: exp() of it is exactly 0 in float32, and unlike
# -inf it never produces NaN gradients through `where`.
_MASKED = -1e30


def _eps() -> float:
    return float(keras_config.epsilon())


def _per_label(x: Any, num: int, name: str) -> Any:
    """A scalar or a ``(C,)`` vector (aligned with the last axis) as a float32 array."""
    if isinstance(x, dict):
        return class_vector(validate_class_weight(x, name), num, name=name, per="label")
    arr = np.asarray(ops.convert_to_numpy(x) if not np.isscalar(x) else x, dtype=np.float64)
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        pos = int(np.flatnonzero(bad.reshape(-1))[0])
        raise ValueError(
            f"{name} must be finite and non-negative; got {arr.reshape(-1)[pos]!r} at index {pos}"
        )
    if arr.ndim == 0:
        return np.float32(arr)
    if arr.shape != (num,):
        raise ValueError(
            f"{name} must be a scalar or have shape ({num},), one value per label (the last "
            f"axis of y_pred); got shape {arr.shape}"
        )
    return arr.astype(np.float32)


class _ContractLoss(keras_losses.Loss):
    """Base: subclasses implement ``_elements`` (values ``κ·L``, ``κ``, validity mask)."""

    # Whether the grid has a label axis last (multi-label / dense binary losses).
    _class_axis = False

    def __init__(
        self, *, reduction: Reduction = "mean", name: str | None = None, dtype: Any = None
    ) -> None:
        red = check_reduction(reduction)
        super().__init__(name=name, reduction="none", dtype=dtype)
        self.reduction = red

    # -- to implement -------------------------------------------------------------------------
    def _elements(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
        """``(κ·L, κ or None, valid mask or None)`` on the element grid."""
        raise NotImplementedError

    # -- Keras API ----------------------------------------------------------------------------
    def call(self, y_true: Any, y_pred: Any) -> Any:
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), self.dtype)
        values, _, _ = self._elements(ops.convert_to_tensor(y_true), y_pred)
        return values

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), self.dtype)
        y_true = ops.convert_to_tensor(y_true)
        values, kappa, valid = self._elements(y_true, y_pred)
        grid = shape_of(values)
        omega = kappa
        if sample_weight is not None:
            s = broadcast_weight(
                sample_weight,
                grid,
                dtype=self.dtype,
                class_axis=self._class_axis,
                dynamic=dims(values),
            )
            values = values * s
            omega = s if omega is None else s * omega
        count: Any = numel(values) if valid is None else ops.sum(valid)
        return reduce(values, omega, count, self.reduction)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction}


# ---- softmax cross-entropy ------------------------------------------------------------------


def _split_target(y_true: Any, y_pred: Any) -> tuple[bool, Any]:
    """``(sparse, target)``: class indices on the grid, or probabilities of y_pred's shape.

    Sparse labels may carry a trailing axis of size 1, as Keras' sparse losses allow.
    """
    pshape, tshape = shape_of(y_pred), shape_of(y_true)
    if len(pshape) < 2:
        raise ValueError(
            f"y_pred must have shape (N, C) or (N, d1, ..., C) (classes last); got {pshape}"
        )
    grid = pshape[:-1]
    if tshape == pshape and pshape[-1] != 1:
        return False, y_true
    if tshape == grid:
        return True, y_true
    if tshape == (*grid, 1):
        return True, ops.squeeze(y_true, axis=-1)
    raise ValueError(
        f"y_true must have shape {grid} or {(*grid, 1)} (class indices) or {pshape} "
        f"(one-hot or soft targets) for y_pred of shape {pshape}; got {tshape}"
    )


class CrossEntropy(_ContractLoss):
    r"""Softmax cross-entropy for sparse, one-hot and soft targets, under the weighting contract.

    The Keras twin of :func:`weightwise.losses.cross_entropy` (which see for the formulas), in
    Keras' channels-last layout:

    * ``y_pred``: ``(N, C)`` or dense ``(N, d1, ..., dk, C)``; logits with ``from_logits=True``,
      otherwise probabilities (the default, as in Keras: the output of a softmax layer).
    * ``y_true``: class indices ``(N, d...)`` (a trailing axis of size 1 is allowed, as in
      Keras' sparse losses; float labels are cast to integers), or one-hot / soft targets of
      ``y_pred``'s shape. The shape decides, so one loss replaces both
      ``SparseCategoricalCrossentropy`` and ``CategoricalCrossentropy``.
    * ``sample_weight`` (what ``fit`` passes): a scalar, ``(N,)``, a per-pixel map
      ``(N, d...)`` or any leading prefix of the grid ``(N, d...)``. No size-1 broadcasting.

    Args:
        from_logits: whether ``y_pred`` holds logits. With probabilities, each row is divided by
            its sum and clipped to ``[ε, 1-ε]`` (``keras.config.epsilon()``) as Keras does; a
            probability outside ``[0, 1]`` is a ``ValueError`` while checks are on.
        class_weight: ``κ = class_weight[y]``: a ``(C,)`` vector or a ``{class: weight}`` dict
            (every class in ``[0, C)`` needs an entry; a missing class or one outside
            ``[0, C)`` is a ``ValueError`` naming it).
        ignore_class: a label whose elements get ``ω = 0`` and leave ``N`` (Keras' name for
            PyTorch's ``ignore_index``). Not allowed with soft targets.
        label_smoothing: ``ε`` in ``[0, 1]``, PyTorch's convention with ``class_weight``.
        reduction: ``"mean"`` (``Σ ω·L / N``, the default, Keras 3's ``sum_over_batch_size``),
            ``"weighted_mean"`` (``Σ ω·L / Σ ω``), ``"nonzero_mean"`` (``Σ ω·L / #{ω ≠ 0}``,
            Keras 2), ``"sum"`` or ``"none"`` (``ω·L`` on the grid).

    Example:
        >>> import numpy as np
        >>> loss = CrossEntropy(from_logits=True, class_weight={0: 1.0, 1: 4.0})
        >>> value = loss(np.array([0, 1]), np.array([[2.0, 0.0], [0.5, 0.5]]))
    """

    def __init__(
        self,
        *,
        from_logits: bool = False,
        class_weight: Any = None,
        ignore_class: int | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1]; got {label_smoothing!r}")
        if ignore_class is not None and (
            isinstance(ignore_class, bool) or not isinstance(ignore_class, (int, np.integer))
        ):
            raise ValueError(f"ignore_class must be an integer or None; got {ignore_class!r}")
        self.from_logits = bool(from_logits)
        self.class_weight = validate_class_weight(class_weight)
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.label_smoothing = float(label_smoothing)

    def get_config(self) -> dict[str, Any]:
        cw = self.class_weight
        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "class_weight": cw.tolist() if isinstance(cw, np.ndarray) else cw,
            "ignore_class": self.ignore_class,
            "label_smoothing": self.label_smoothing,
        }

    # The log-probabilities (over the last axis) that every softmax loss starts from.
    def _log_probs(self, y_pred: Any) -> Any:
        if self.from_logits:
            return ops.log_softmax(y_pred, axis=-1)
        check_values(
            y_pred,
            ops.logical_not((y_pred >= 0) & (y_pred <= 1)),
            "y_pred must hold probabilities in [0, 1] with from_logits=False (pass "
            "from_logits=True for logits)",
        )
        eps = _eps()
        p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        return ops.log(ops.clip(p, eps, 1.0 - eps))

    def _hard_target(self, target: Any, num_classes: int) -> tuple[Any, Any]:
        """``(safe indices, valid mask or None)``, after the range check."""
        if "int" not in str(target.dtype):
            check_values(
                target,
                ops.not_equal(target, ops.round(target)),
                "y_true must hold integer class indices",
            )
            target = ops.round(target)
        target = ops.cast(target, "int32")
        bad = (target < 0) | (target >= num_classes)
        allowed = f"[0, {num_classes})"
        if self.ignore_class is not None:
            bad = bad & ops.not_equal(target, self.ignore_class)
            allowed += f" or ignore_class={self.ignore_class}"
        check_values(target, bad, f"y_true must be in {allowed}")
        if self.ignore_class is None:
            return target, None
        valid = ops.not_equal(target, self.ignore_class)
        return ops.where(valid, target, ops.zeros_like(target)), valid

    def _class_weight(self, num_classes: int) -> Any:
        if self.class_weight is None:
            return None
        return ops.convert_to_tensor(class_vector(self.class_weight, num_classes), self.dtype)

    def _elements(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
        sparse, target = _split_target(y_true, y_pred)
        logp = self._log_probs(y_pred)
        return self._from_log_probs(sparse, target, logp)

    def _from_log_probs(self, sparse: bool, target: Any, logp: Any) -> tuple[Any, Any, Any]:
        num_classes = shape_of(logp)[-1]
        cw = self._class_weight(num_classes)
        eps = self.label_smoothing
        if sparse:
            safe_t, valid = self._hard_target(target, num_classes)
            nll = -ops.squeeze(
                ops.take_along_axis(logp, ops.expand_dims(safe_t, -1), axis=-1), axis=-1
            )
            kappa = None if cw is None else ops.take(cw, safe_t)
            values = nll if kappa is None else kappa * nll
            if eps > 0:
                smooth = -(ops.sum(logp if cw is None else logp * cw, axis=-1)) / num_classes
                values = (1.0 - eps) * values + eps * smooth
            if valid is not None:
                mask = ops.cast(valid, self.dtype)
                values = values * mask
                kappa = mask if kappa is None else kappa * mask
            return values, kappa, valid
        if self.ignore_class is not None:
            raise ValueError(
                "ignore_class cannot be used with one-hot or soft targets; set the "
                "sample_weight of the elements to leave out to 0 instead"
            )
        t = ops.cast(target, self.dtype)
        check_values(t, ops.logical_not(t >= 0), "y_true (soft targets) must be non-negative")
        sums = ops.sum(t, axis=-1)
        check_values(
            sums,
            ops.abs(sums - 1.0) > 1e-4,
            "y_true holds probabilities (soft targets) that must sum to 1 along the last axis",
        )
        t_s = t if eps == 0 else (1.0 - eps) * t + eps / num_classes
        wt = t_s if cw is None else t_s * cw
        values = -ops.sum(wt * logp, axis=-1)
        kappa = None if cw is None else ops.sum(t * cw, axis=-1)
        return values, kappa, None


class LogitAdjusted(CrossEntropy):
    r"""Logit-adjusted cross-entropy (Menon et al. 2021), the twin of
    :func:`weightwise.losses.logit_adjusted_cross_entropy`.

    ``L = -log softmax(x + τ·log π)_y`` with ``π`` the class prior (``prior``, or
    ``counts / Σ counts``); everything else is :class:`CrossEntropy`. Give exactly one of
    ``prior`` and ``counts`` (strictly positive, shape ``(C,)``); ``tau >= 0``. With
    ``from_logits=False`` the logits are ``log p``. Use the raw outputs at inference.
    """

    def __init__(
        self,
        *,
        prior: Any = None,
        counts: Any = None,
        tau: float = 1.0,
        from_logits: bool = False,
        class_weight: Any = None,
        ignore_class: int | None = None,
        label_smoothing: float = 0.0,
        reduction: Reduction = "mean",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            class_weight=class_weight,
            ignore_class=ignore_class,
            label_smoothing=label_smoothing,
            reduction=reduction,
            name=name,
            dtype=dtype,
        )
        if (prior is None) == (counts is None):
            raise ValueError(
                "give exactly one of prior and counts; got "
                + ("both" if prior is not None else "neither")
            )
        t = float(tau)
        if not math.isfinite(t) or t < 0:
            raise ValueError(f"tau must be a finite number >= 0; got {tau!r}")
        name_, vec = ("prior", prior) if prior is not None else ("counts", counts)
        arr = np.asarray(vec, dtype=np.float64)
        if arr.ndim != 1:
            raise ValueError(f"{name_} must have shape (C,); got shape {arr.shape}")
        bad = ~np.isfinite(arr) | (arr <= 0)
        if bad.any():
            pos = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{name_} must be finite and strictly positive; got {arr[pos]!r} at index {pos}"
            )
        log_prior = np.log(arr) if prior is not None else np.log(arr) - np.log(arr.sum())
        self.tau = t
        self._prior_name = name_
        self._prior = arr
        self._shift = (t * log_prior).astype(np.float32)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "tau": self.tau, self._prior_name: self._prior.tolist()}

    def _elements(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
        sparse, target = _split_target(y_true, y_pred)
        c = shape_of(y_pred)[-1]
        if self._shift.shape != (c,):
            raise ValueError(
                f"{self._prior_name} must have shape ({c},), one value per class; got "
                f"{self._shift.shape}"
            )
        logits = y_pred if self.from_logits else self._log_probs(y_pred)
        logp = ops.log_softmax(logits + ops.convert_to_tensor(self._shift, self.dtype), axis=-1)
        return self._from_log_probs(sparse, target, logp)


class Focal(CrossEntropy):
    r"""Softmax focal loss (Lin et al. 2017), the twin of :func:`weightwise.losses.focal_loss`.

    ``L = -(1 - p_y)^γ · log p_y`` and ``κ = alpha[y] · class_weight[y]`` (both enter the
    ``"weighted_mean"`` denominator). Sparse targets are the twin's; one-hot targets give the
    same value through ``L = -Σ_c t_c (1 - p_c)^γ log p_c`` with ``κ = Σ_c alpha_c·cw_c·t_c``.
    ``alpha`` is ``None`` or a per-class vector / dict. ``ignore_class`` works as in
    :class:`CrossEntropy`; there is no label smoothing.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: Any = None,
        from_logits: bool = False,
        class_weight: Any = None,
        ignore_class: int | None = None,
        reduction: Reduction = "mean",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            class_weight=class_weight,
            ignore_class=ignore_class,
            reduction=reduction,
            name=name,
            dtype=dtype,
        )
        self.gamma = check_nonnegative_real(gamma, "gamma")
        if alpha is not None and np.ndim(alpha) == 0 and not isinstance(alpha, dict):
            raise ValueError(
                f"alpha must be None or one weight per class (a vector or dict); got the scalar "
                f"{alpha!r}, which is ambiguous for the softmax focal loss"
            )
        self.alpha = validate_class_weight(alpha, "alpha")

    def get_config(self) -> dict[str, Any]:
        a = self.alpha
        cfg = super().get_config()
        cfg.pop("label_smoothing")
        return {**cfg, "gamma": self.gamma, "alpha": a.tolist() if isinstance(a, np.ndarray) else a}

    def _class_weight(self, num_classes: int) -> Any:
        vec: np.ndarray | None = None
        if self.class_weight is not None:
            vec = class_vector(self.class_weight, num_classes)
        if self.alpha is not None:
            a = class_vector(self.alpha, num_classes, name="alpha")
            vec = a if vec is None else vec * a
        return None if vec is None else ops.convert_to_tensor(vec, self.dtype)

    def _focal(self, logp: Any) -> Any:
        if self.gamma == 0:
            return -logp
        return -ops.power(-ops.expm1(logp), self.gamma) * logp

    def _elements(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
        sparse, target = _split_target(y_true, y_pred)
        logp = self._log_probs(y_pred)
        num_classes = shape_of(logp)[-1]
        cw = self._class_weight(num_classes)
        if sparse:
            safe_t, valid = self._hard_target(target, num_classes)
            logp_y = ops.squeeze(
                ops.take_along_axis(logp, ops.expand_dims(safe_t, -1), axis=-1), axis=-1
            )
            values = self._focal(logp_y)
            kappa = None if cw is None else ops.take(cw, safe_t)
            if kappa is not None:
                values = kappa * values
            if valid is not None:
                mask = ops.cast(valid, self.dtype)
                values = values * mask
                kappa = mask if kappa is None else kappa * mask
            return values, kappa, valid
        if self.ignore_class is not None:
            raise ValueError("ignore_class cannot be used with one-hot targets")
        t = ops.cast(target, self.dtype)
        wt = t if cw is None else t * cw
        values = ops.sum(wt * self._focal(logp), axis=-1)
        kappa = None if cw is None else ops.sum(wt, axis=-1)
        return values, kappa, None


# ---- binary / multi-label ---------------------------------------------------------------------


class BinaryCrossEntropy(_ContractLoss):
    r"""Binary / multi-label cross-entropy, the twin of
    :func:`weightwise.losses.binary_cross_entropy`::

        ω·L = s · [pos_weight·t·(-log p) + neg_weight·(1-t)·(-log(1-p))]
        κ   = pos_weight·t + neg_weight·(1-t)        ("weighted_mean" divides by Σ s·κ)

    * ``y_pred``: ``(N,)``, ``(N, C)`` multi-label or dense ``(N, d..., C)``; logits with
      ``from_logits=True`` (``-log σ(x)`` is ``softplus(-x)``), probabilities otherwise
      (clipped to ``[ε, 1-ε]`` as Keras does; outside ``[0, 1]`` is a ``ValueError`` while
      checks are on).
    * ``y_true``: ``y_pred``'s shape, in ``[0, 1]`` (soft targets allowed). A mask
      ``(N, d...)`` against ``y_pred`` ``(N, d..., 1)`` gets the trailing axis added.
    * ``sample_weight``: a scalar, ``(N,)``, ``(N, C)`` per sample and label, ``(N, d...)``
      per pixel, or the full grid.
    * ``pos_weight``, ``neg_weight``: a scalar or ``(C,)`` aligned with the **last** axis
      (Keras' label axis; the torch twin aligns it with dim 1 of its channels-first layout).

    Unlike Keras' ``BinaryCrossentropy``, which averages over the last axis first, the element
    grid is every (sample, label) pair: with unit weights the two agree.
    """

    _class_axis = True

    def __init__(
        self,
        *,
        from_logits: bool = False,
        pos_weight: Any = None,
        neg_weight: Any = None,
        reduction: Reduction = "mean",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        self.from_logits = bool(from_logits)
        self.pos_weight = pos_weight
        self.neg_weight = neg_weight
        # Validate values now (shape against C at call time).
        for nm, v in (("pos_weight", pos_weight), ("neg_weight", neg_weight)):
            if v is not None and not isinstance(v, dict):
                _per_label(v, int(np.size(v)), nm)

    def get_config(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            return np.asarray(v).tolist() if v is not None and not isinstance(v, dict) else v

        return {
            **super().get_config(),
            "from_logits": self.from_logits,
            "pos_weight": plain(self.pos_weight),
            "neg_weight": plain(self.neg_weight),
        }

    def _prepare(self, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
        pshape, tshape = shape_of(y_pred), shape_of(y_true)
        if len(pshape) < 1:
            raise ValueError("y_pred must have at least one dimension (N, ...); got a scalar")
        if tshape != pshape:
            if pshape[-1] == 1 and tshape == pshape[:-1]:
                y_true = ops.expand_dims(y_true, -1)
            else:
                raise ValueError(f"y_true must have y_pred's shape {pshape}; got {tshape}")
        t = ops.cast(y_true, self.dtype)
        check_values(t, ops.logical_not((t >= 0) & (t <= 1)), "y_true must be in [0, 1]")
        return t, y_pred

    def _neg_log_terms(self, y_pred: Any) -> tuple[Any, Any]:
        """``(-log p, -log(1-p))`` elementwise."""
        if self.from_logits:
            return ops.softplus(-y_pred), ops.softplus(y_pred)
        check_values(
            y_pred,
            ops.logical_not((y_pred >= 0) & (y_pred <= 1)),
            "y_pred must hold probabilities in [0, 1] with from_logits=False (pass "
            "from_logits=True for logits)",
        )
        eps = _eps()
        p = ops.clip(y_pred, eps, 1.0 - eps)
        return -ops.log(p), -ops.log(1.0 - p)

    def _label_weights(self, y_pred: Any) -> tuple[Any, Any]:
        pshape = shape_of(y_pred)
        num = pshape[-1] if len(pshape) >= 2 else 1
        out: list[Any] = []
        for nm, v in (("pos_weight", self.pos_weight), ("neg_weight", self.neg_weight)):
            if v is None:
                out.append(None)
                continue
            arr = _per_label(v, num, nm)
            if len(pshape) < 2 and np.ndim(arr) == 1:
                arr = np.float32(arr[0])
            out.append(ops.convert_to_tensor(arr, self.dtype))
        return out[0], out[1]

    def _elements(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
        t, y_pred = self._prepare(y_true, y_pred)
        loss_pos, loss_neg = self._neg_log_terms(y_pred)
        pw, nw = self._label_weights(y_pred)
        kp = t if pw is None else pw * t
        kn = (1.0 - t) if nw is None else nw * (1.0 - t)
        values = kp * loss_pos + kn * loss_neg
        kappa = None if pw is None and nw is None else kp + kn
        return values, kappa, None


class BinaryFocal(BinaryCrossEntropy):
    r"""Sigmoid focal loss (Lin et al. 2017, torchvision), the twin of
    :func:`weightwise.losses.binary_focal_loss`::

        L   = BCE(p, t) · (1 - p_t)^γ,   1 - p_t = t·(1-p) + (1-t)·p
        κ   = α_t · (pos_weight·t + neg_weight·(1-t)),   α_t = α·t + (1-α)·(1-t)

    ``alpha`` is a scalar in ``[0, 1]`` (0.25 by default), a ``(C,)`` vector or ``None`` (off).
    Shapes and weights are those of :class:`BinaryCrossEntropy`.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        alpha: Any = 0.25,
        from_logits: bool = False,
        pos_weight: Any = None,
        neg_weight: Any = None,
        reduction: Reduction = "mean",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            from_logits=from_logits,
            pos_weight=pos_weight,
            neg_weight=neg_weight,
            reduction=reduction,
            name=name,
            dtype=dtype,
        )
        self.gamma = check_nonnegative_real(gamma, "gamma")
        if alpha is not None:
            a = np.asarray(alpha, dtype=np.float64)
            bad = ~np.isfinite(a) | (a < 0) | (a > 1)
            if bad.any():
                pos = int(np.flatnonzero(bad.reshape(-1))[0])
                raise ValueError(f"alpha must be in [0, 1]; got {a.reshape(-1)[pos]!r}")
        self.alpha = alpha

    def get_config(self) -> dict[str, Any]:
        a = self.alpha
        return {
            **super().get_config(),
            "gamma": self.gamma,
            "alpha": None if a is None else np.asarray(a).tolist(),
        }

    def _elements(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
        t, y_pred = self._prepare(y_true, y_pred)
        loss_pos, loss_neg = self._neg_log_terms(y_pred)
        bce = t * loss_pos + (1.0 - t) * loss_neg
        if self.gamma != 0:
            if self.from_logits:
                q = t * ops.sigmoid(-y_pred) + (1.0 - t) * ops.sigmoid(y_pred)
            else:
                q = t * (1.0 - y_pred) + (1.0 - t) * y_pred
            bce = bce * ops.power(q, self.gamma)
        pshape = shape_of(y_pred)
        num = pshape[-1] if len(pshape) >= 2 else 1
        kappa = None
        if self.alpha is not None:
            a = _per_label(self.alpha, num, "alpha")
            if len(pshape) < 2 and np.ndim(a) == 1:
                a = np.float32(a[0])
            a_t = ops.convert_to_tensor(a, self.dtype)
            kappa = a_t * t + (1.0 - a_t) * (1.0 - t)
        pw, nw = self._label_weights(y_pred)
        if pw is not None or nw is not None:
            k2 = (t if pw is None else pw * t) + ((1.0 - t) if nw is None else nw * (1.0 - t))
            kappa = k2 if kappa is None else kappa * k2
        values = bce if kappa is None else bce * kappa
        return values, kappa, None


# ---- any-of ---------------------------------------------------------------------------------


class AnyOf(_ContractLoss):
    r"""Cross-entropy where any class of a set is acceptable, the twin of
    :func:`weightwise.losses.any_of_cross_entropy`.

    ``y_true`` is a boolean (or 0/1) mask of ``y_pred``'s shape marking the allowed classes
    ``S`` of each element; the grid is ``y_pred.shape[:-1]``::

        "marginal":  L = -log Σ_{c∈S} p_c
        "max":       L = -x_{c*} + lse_{{c*} ∪ ¬S}(x),   c* = argmax_{c∈S} x_c

    ``ω = s``: there is no ``class_weight``. An empty set is a ``ValueError`` while checks are
    on. With ``from_logits=False`` the logits are ``log p`` (clipped).
    """

    def __init__(
        self,
        *,
        mode: str = "marginal",
        from_logits: bool = False,
        reduction: Reduction = "mean",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        if mode not in ("marginal", "max"):
            raise ValueError(f"mode must be 'marginal' or 'max'; got {mode!r}")
        self.mode = mode
        self.from_logits = bool(from_logits)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode, "from_logits": self.from_logits}

    def _elements(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any]:
        pshape, tshape = shape_of(y_pred), shape_of(y_true)
        if len(pshape) < 2 or tshape != pshape:
            raise ValueError(
                f"y_true must be a boolean mask of y_pred's shape {pshape} (classes last); got "
                f"{tshape}"
            )
        if "bool" not in str(y_true.dtype):
            yt = ops.cast(y_true, self.dtype)
            check_values(
                yt, ops.not_equal(yt, 0) & ops.not_equal(yt, 1), "y_true must be boolean (or 0/1)"
            )
            sets = ops.not_equal(yt, 0)
        else:
            sets = y_true
        check_values(
            ops.any(sets, axis=-1),
            ops.logical_not(ops.any(sets, axis=-1)),
            "y_true must allow at least one class for every element (the value shown is "
            "any(y_true) along the last axis)",
        )
        if self.from_logits:
            x = y_pred
        else:
            eps = _eps()
            x = ops.log(ops.clip(y_pred, eps, 1.0 - eps))
        masked = ops.where(sets, x, ops.full_like(x, _MASKED))
        if self.mode == "marginal":
            values = ops.logsumexp(x, axis=-1) - ops.logsumexp(masked, axis=-1)
        else:
            best = ops.argmax(ops.stop_gradient(masked), axis=-1)
            onehot = ops.cast(ops.one_hot(best, pshape[-1]), "bool")
            keep = ops.logical_not(sets) | onehot
            x_best = ops.sum(ops.where(onehot, x, ops.zeros_like(x)), axis=-1)
            values = ops.logsumexp(ops.where(keep, x, ops.full_like(x, _MASKED)), axis=-1) - x_best
        return values, None, None


# ---- Dice -----------------------------------------------------------------------------------


class Dice(_ContractLoss):
    r"""Weighted soft Dice loss, the twin of :func:`weightwise.losses.dice_loss`.

    Channels last: ``y_pred`` is ``(N, d..., C)`` (``mode="multiclass"``: softmax over ``C``;
    ``"multilabel"``: a sigmoid per channel) or, with ``mode="binary"``, ``(N, d..., 1)`` or
    ``(N, d...)`` (foreground only, like Keras' ``dice_coef``). ``y_true`` holds class indices
    ``(N, d...)`` or probabilities of ``y_pred``'s shape (multiclass), or 0/1 targets.

    With ``I = Σ_x m·p·g``, ``P = Σ_x m·p``, ``G = Σ_x m·g`` per sample and class (``m`` the
    per-pixel weight, 1 without one; ``p²``, ``g²`` with ``squared=True``)::

        ℓ_nc = 1 - (2·I_nc + smooth) / (P_nc + G_nc + smooth)
        D_n  = Σ_c cw_c·ℓ_nc / Σ_c cw_c        (kept classes)

    ``sample_weight``: ``(N,)`` weights the per-sample losses (``pooling="sample"``) or the
    pixel sums (``pooling="batch"``); a per-pixel map ``(N, d...)`` (multilabel: also
    ``(N, C)`` and the full grid) weights the sums. ``class_weight`` weights the per-class terms.
    ``empty`` decides what an empty class (``Σ m·s·g = 0``) does: ``"skip"`` leaves it out,
    ``"zero"`` / ``"one"`` give it a Dice score of 0 / 1. With ``pooling="sample"`` the per-sample
    losses reduce like elements (``reduction="none"`` gives ``(N,)``); with ``pooling="batch"``
    the sums are pooled over the batch first and ``"none"`` gives the per-class losses ``(C,)``.
    ``ignore_class`` (multiclass, hard targets) removes those pixels from every sum. With
    ``from_logits=False`` ``y_pred`` is taken as probabilities.
    """

    def __init__(
        self,
        *,
        mode: str = "multiclass",
        from_logits: bool = False,
        class_weight: Any = None,
        ignore_class: int | None = None,
        smooth: float = 1e-5,
        squared: bool = False,
        pooling: str = "sample",
        include_background: bool = True,
        empty: str = "skip",
        reduction: Reduction = "mean",
        name: str | None = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(reduction=reduction, name=name, dtype=dtype)
        for arg, value, choices in (
            ("mode", mode, ("binary", "multiclass", "multilabel")),
            ("pooling", pooling, ("sample", "batch")),
            ("empty", empty, ("skip", "zero", "one")),
        ):
            if value not in choices:
                raise ValueError(
                    f"{arg} must be one of {', '.join(map(repr, choices))}; got {value!r}"
                )
        if not (isinstance(smooth, (int, float)) and smooth >= 0):
            raise ValueError(f"smooth must be a non-negative number; got {smooth!r}")
        if ignore_class is not None and mode != "multiclass":
            raise ValueError(
                f"ignore_class is supported in multiclass mode only; got mode={mode!r}"
            )
        self.mode, self.pooling, self.empty = mode, pooling, empty
        self.from_logits = bool(from_logits)
        self.class_weight = validate_class_weight(class_weight)
        self.ignore_class = ignore_class
        self.smooth = float(smooth)
        self.squared = bool(squared)
        self.include_background = bool(include_background)

    def get_config(self) -> dict[str, Any]:
        cw = self.class_weight
        return {
            **super().get_config(),
            "mode": self.mode,
            "from_logits": self.from_logits,
            "class_weight": cw.tolist() if isinstance(cw, np.ndarray) else cw,
            "ignore_class": self.ignore_class,
            "smooth": self.smooth,
            "squared": self.squared,
            "pooling": self.pooling,
            "include_background": self.include_background,
            "empty": self.empty,
        }

    def call(self, y_true: Any, y_pred: Any) -> Any:
        return self.__call__(y_true, y_pred)

    def _inputs(self, y_true: Any, y_pred: Any) -> tuple[Any, Any, Any, tuple[Any, ...]]:
        """``(prob (N,S,C), g (N,S,C), valid (N,S,1) or None, weight grid)``; the weight grid
        is a prefix of ``y_pred``'s shape."""
        pshape, tshape = shape_of(y_pred), shape_of(y_true)
        n = dims(y_pred)[0] if pshape else 0
        if self.mode == "binary":
            grid = pshape[:-1] if len(pshape) >= 2 and pshape[-1] == 1 else pshape
            if tshape not in (grid, (*grid, 1)) and tshape != pshape:
                raise ValueError(
                    f"y_true must have shape {grid} (binary mode, 0/1 per pixel) for y_pred of "
                    f"shape {pshape}; got {tshape}"
                )
            x = ops.reshape(y_pred, (n, -1, 1))
            g = ops.reshape(ops.cast(y_true, self.dtype), (n, -1, 1))
            check_values(g, ops.logical_not((g >= 0) & (g <= 1)), "y_true must be in [0, 1]")
            prob = ops.sigmoid(x) if self.from_logits else x
            return prob, g, None, grid
        if len(pshape) < 2:
            raise ValueError(f"y_pred must have shape (N, d..., C); got {pshape}")
        c = pshape[-1]
        x = ops.reshape(y_pred, (n, -1, c))
        if self.mode == "multilabel":
            if tshape != pshape:
                raise ValueError(f"y_true must have y_pred's shape {pshape}; got {tshape}")
            g = ops.reshape(ops.cast(y_true, self.dtype), (n, -1, c))
            check_values(g, ops.logical_not((g >= 0) & (g <= 1)), "y_true must be in [0, 1]")
            prob = ops.sigmoid(x) if self.from_logits else x
            return prob, g, None, pshape
        prob = ops.softmax(x, axis=-1) if self.from_logits else x
        sparse, target = _split_target(y_true, y_pred)
        if not sparse:
            if self.ignore_class is not None:
                raise ValueError("ignore_class cannot be used with soft targets")
            return prob, ops.reshape(ops.cast(target, self.dtype), (n, -1, c)), None, pshape[:-1]
        helper = CrossEntropy(ignore_class=self.ignore_class, dtype=self.dtype)
        safe, valid = helper._hard_target(target, c)
        g = ops.one_hot(ops.reshape(safe, (n, -1)), c, dtype=self.dtype)
        v = None if valid is None else ops.reshape(ops.cast(valid, self.dtype), (n, -1, 1))
        return prob, g, v, pshape[:-1]

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), self.dtype)
        y_true = ops.convert_to_tensor(y_true)
        prob, g, pixel, grid = self._inputs(y_true, y_pred)
        n, c = shape_of(prob)[0], shape_of(prob)[-1]
        n_dyn, dyn_grid = dims(prob)[0], dims(y_pred)[: len(grid)]
        sample = None
        if sample_weight is not None:
            sw = ops.convert_to_tensor(sample_weight)
            wshape = shape_of(sw)
            if self.mode == "binary" and wshape == shape_of(y_pred) and wshape != grid:
                sw = ops.squeeze(sw, axis=-1)
                wshape = grid
            if wshape in ((), (n,)) or (n is None and len(wshape) == 1):
                sample = broadcast_weight(sw, (n,), dtype=self.dtype, dynamic=(n_dyn,))
            else:
                multilabel = self.mode == "multilabel"
                w = broadcast_weight(
                    sw, grid, dtype=self.dtype, class_axis=multilabel, dynamic=dyn_grid
                )
                w = ops.reshape(w, (n_dyn, -1, c if multilabel else 1))
                pixel = w if pixel is None else w * pixel
        pp = prob * prob if self.squared else prob
        gg = g * g if self.squared else g
        gm = g if pixel is None else g * pixel
        inter = ops.sum(prob * gm, axis=1)
        big_p = ops.sum(pp if pixel is None else pp * pixel, axis=1)
        big_g = ops.sum(gg if pixel is None else gg * pixel, axis=1)
        cw = None
        if self.class_weight is not None:
            cw = ops.convert_to_tensor(class_vector(self.class_weight, c), self.dtype)
        if not self.include_background and c > 1:
            inter, big_p, big_g = inter[:, 1:], big_p[:, 1:], big_g[:, 1:]
            cw = None if cw is None else cw[1:]
        if self.pooling == "batch":
            if sample is not None:
                s1 = ops.expand_dims(sample, 1)
                inter, big_p, big_g = inter * s1, big_p * s1, big_g * s1
            inter, big_p, big_g = (ops.sum(v, axis=0) for v in (inter, big_p, big_g))
            value, kept, per_class = self._class_average(inter, big_p, big_g, big_g == 0, cw)
            if self.reduction == "none":
                return per_class
            return ops.where(kept, value, ops.zeros_like(value))
        empty = big_g == 0
        if sample is not None:
            empty = empty | ops.expand_dims(sample == 0, 1)
        value, kept, _ = self._class_average(inter, big_p, big_g, empty, cw)
        k = ops.cast(kept, self.dtype)
        sw = k if sample is None else sample * k
        weighted = ops.where(kept, value, ops.zeros_like(value)) * sw
        return reduce(weighted, sw, ops.sum(k), self.reduction)

    def _class_average(
        self, inter: Any, big_p: Any, big_g: Any, empty: Any, cw: Any
    ) -> tuple[Any, Any, Any]:
        den = big_p + big_g + self.smooth
        ell = 1.0 - (2.0 * inter + self.smooth) / ops.where(den != 0, den, ops.ones_like(den))
        if self.empty == "skip":
            keep = ops.logical_not(empty)
            val = ell
        else:
            keep = ops.ones_like(empty)
            const = 1.0 if self.empty == "zero" else 0.0
            val = ops.where(empty, ops.full_like(ell, const), ell)
        keep_f = ops.cast(keep, self.dtype)
        wc = keep_f if cw is None else keep_f * cw
        total = ops.sum(wc, axis=-1)
        safe = ops.where(total != 0, total, ops.ones_like(total))
        return ops.sum(val * wc, axis=-1) / safe, total > 0, val * keep_f
