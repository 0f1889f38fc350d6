"""Class-weight estimators: one weight per class (or per label) from labels or counts.

The estimators accept labels or *counts*, so that a user with a billion rows counts with their
own engine and passes the counts. Inputs may be lists, NumPy arrays, torch tensors or pandas
objects; outputs are NumPy ``float64`` arrays (a Keras user writes ``dict(enumerate(w))``, a
PyTorch user ``torch.as_tensor(w, dtype=torch.float32)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_float64_array, check_finite_nonnegative, format_index
from ._common import (
    as_label_array,
    check_choice,
    check_positive_int,
    check_real,
    to_numpy,
)

__all__ = ["ABSENT", "NORMALIZATIONS", "SCHEMES", "class_weights", "multilabel_weights"]

SCHEMES: tuple[str, ...] = (
    "balanced",
    "inverse",
    "inverse_sqrt",
    "power",
    "effective",
    "median_frequency",
    "none",
)
"""The weighting schemes accepted by :func:`class_weights` and :func:`multilabel_weights`."""

NORMALIZATIONS: tuple[str, ...] = ("samples", "classes", "none")
"""The values of ``normalize=``."""

ABSENT: tuple[str, ...] = ("error", "zero")
"""The values of ``absent=``."""


def _check_options(scheme: Any, normalize: Any, beta: Any, power: Any) -> tuple[float, float]:
    check_choice(scheme, "scheme", SCHEMES)
    check_choice(normalize, "normalize", NORMALIZATIONS)
    beta_f = check_real(beta, "beta")
    if not 0.0 <= beta_f < 1.0:
        raise ValueError(f"beta must be in [0, 1); got {beta!r}")
    power_f = check_real(power, "power")
    if not (np.isfinite(power_f) and power_f >= 0.0):
        raise ValueError(f"power must be finite and non-negative; got {power!r}")
    return beta_f, power_f


def _weights_from_counts(
    n: np.ndarray,
    *,
    scheme: str,
    normalize: str,
    beta: float,
    power: float,
    per_image: np.ndarray | None = None,
) -> np.ndarray:
    """Vectorised core: ``n`` is ``(B, C)``, one row of class counts per problem.

    Absent classes (count 0) get weight 0; every row must have a positive total (checked by the
    callers). ``per_image`` is an ``(M, C)`` array of per-image counts, only with ``B == 1``.
    """
    total = n.sum(axis=-1, keepdims=True)
    present = n > 0
    k = present.sum(axis=-1, keepdims=True).astype(np.float64)
    safe_n = np.where(present, n, 1.0)
    with np.errstate(over="ignore", divide="ignore", under="ignore"):
        if scheme == "balanced":
            raw = total / (k * safe_n)
        elif scheme in ("inverse", "inverse_sqrt", "power"):
            q = {"inverse": 1.0, "inverse_sqrt": 0.5}.get(scheme, power)
            if normalize == "none":
                raw = 1.0 / safe_n if q == 1.0 else safe_n ** (-q)
            else:
                # the common factor cancels: (n / n_min) ** -q stays in range for large q
                n_min = np.where(present, n, np.inf).min(axis=-1, keepdims=True)
                raw = (safe_n / n_min) ** (-q)
        elif scheme == "effective":
            if beta == 0.0:
                raw = np.ones_like(safe_n)
            else:
                # (1 - β) / (1 - β^n), with 1 - β^n = -expm1(n log β) accurate near β = 1
                raw = (1.0 - beta) / -np.expm1(safe_n * np.log(beta))
        elif scheme == "median_frequency":
            if per_image is None:
                freq = safe_n / total
            else:
                image_total = per_image.sum(axis=1, keepdims=True)  # (M, 1)
                seen_in = np.where(per_image > 0, image_total, 0.0).sum(axis=0)  # (C,)
                freq = safe_n / np.where(present, seen_in, 1.0)
            med = np.nanmedian(np.where(present, freq, np.nan), axis=-1, keepdims=True)
            raw = med / freq
        else:  # "none"
            raw = np.ones_like(safe_n)
        w = np.where(present, raw, 0.0)
        if normalize == "samples":
            w = w * (total / (n * w).sum(axis=-1, keepdims=True))
        elif normalize == "classes":
            w = w * (k / w.sum(axis=-1, keepdims=True))
    if not np.all(np.isfinite(w)) or np.any(w[present] == 0):
        detail = f" with power={power!r}; use a smaller power" if scheme == "power" else ""
        raise ValueError(f"scheme={scheme!r} over- or underflows float64 for these counts{detail}")
    return w


def _absent_message(missing: np.ndarray, source: str) -> str:
    shown = ", ".join(str(int(c)) for c in missing[:10])
    more = f" and {missing.size - 10} more" if missing.size > 10 else ""
    noun = "class" if missing.size == 1 else "classes"
    verb = "has" if missing.size == 1 else "have"
    return (
        f"{noun} {shown}{more} {verb} no samples in {source} (a count of 0); a weight for an "
        f"absent class is undefined: pass absent='zero' to give absent classes weight 0"
    )


def class_weights(
    y: Any = None,
    *,
    counts: Any = None,
    scheme: str = "balanced",
    num_classes: int | None = None,
    beta: float = 0.999,
    power: float = 1.0,
    normalize: str = "samples",
    absent: str = "error",
) -> np.ndarray:
    """Estimate one weight per class from labels or class counts.

    Give exactly one of ``y`` and ``counts``. Write ``n_c`` for the count of class ``c``,
    ``N = Σ_c n_c`` and ``K`` for the number of classes. The raw weight of a present class is

    ====================== ================================================================
    ``scheme``             raw weight ``w_c``
    ====================== ================================================================
    ``"balanced"``         ``N / (K · n_c)`` (scikit-learn's ``"balanced"``)
    ``"inverse"``          ``1 / n_c``
    ``"inverse_sqrt"``     ``1 / sqrt(n_c)``
    ``"power"``            ``n_c ** -power``
    ``"effective"``        ``(1 - β) / (1 - β ** n_c)``, the inverse effective number of
                           samples of Cui et al. (2019)
    ``"median_frequency"`` ``median_c'(freq_c') / freq_c`` (Eigen & Fergus, 2015), the
                           median over present classes; see below for ``freq_c``
    ``"none"``             ``1``
    ====================== ================================================================

    and ``normalize`` rescales the weights by one common factor:

    * ``"samples"`` (default): ``Σ_c n_c · w_c = N``, so the mean weight over the *samples* is
      1 and ``reduction="mean"`` keeps the loss on its unweighted scale;
    * ``"classes"``: the mean weight over the present classes is 1, ``Σ_c w_c = K`` (Cui et
      al.'s convention);
    * ``"none"``: the raw weights above.

    ``"balanced"`` already satisfies ``"samples"``, so it gives the same weights under
    ``"samples"`` and ``"none"``.

    **Median frequency.** From labels or a ``(C,)`` count vector, ``freq_c = n_c / N``. From
    per-image counts ``(M, C)`` (pixels of class ``c`` in image ``m``, ignored pixels left out),
    ``freq_c = Σ_m n_mc / Σ_{m: n_mc > 0} total_m``: class pixels over the pixels of the images
    in which the class appears, as in Eigen & Fergus. With ``normalize="none"`` these are the
    paper's numbers (the median class gets 1). For an even number of present classes the median
    is the mean of the two middle frequencies (``numpy.median``).

    **Absent classes.** A class with count 0 has no defined weight: by default it is a
    ``ValueError`` that names the class. With ``absent="zero"`` it gets weight 0, and every rule
    above runs over the present classes only: ``K`` is the number of present classes, so
    ``"balanced"`` keeps ``Σ_c n_c w_c = N`` even with ``normalize="none"``, and
    ``"classes"`` makes the mean over the present classes 1.

    Args:
        y: integer class labels in ``[0, C)``, any shape (every element counts, so a stack of
            segmentation masks gives pixel counts). Lists, NumPy, torch or pandas. Float labels
            are accepted when they hold whole numbers.
        counts: class counts instead of labels, non-negative and finite (they need not be
            integers: weighted counts work). A ``(C,)`` vector, or an ``(M, C)`` array of
            per-image counts. Only ``"median_frequency"`` uses the per-image structure; every
            other scheme sums an ``(M, C)`` array over ``M``.
        scheme: one of :data:`SCHEMES` (table above).
        num_classes: ``C``. Defaults to ``max(y) + 1`` for labels and to the length of the
            class axis for counts (then they must agree).
        beta: ``β`` in ``[0, 1)`` for ``"effective"``. ``β = 0`` gives equal weights and
            ``β → 1`` approaches ``"inverse"``. Cui et al. use 0.9 to 0.9999.
        power: the exponent ``q >= 0`` for ``"power"``; ``q = 1`` is ``"inverse"``, ``q = 0.5``
            is ``"inverse_sqrt"``.
        normalize: ``"samples"``, ``"classes"`` or ``"none"`` (see above).
        absent: ``"error"`` (default) or ``"zero"`` (see above).

    Returns:
        A NumPy ``float64`` array of shape ``(C,)``.

    Raises:
        ValueError: for labels outside ``[0, C)`` or not whole numbers, negative or non-finite
            counts, all-zero counts, an absent class with ``absent="error"``, both or neither
            of ``y`` and ``counts``, or an unknown option. Messages name the argument, the
            position and the value.

    References:
        Y. Cui, M. Jia, T.-Y. Lin, Y. Song, S. Belongie. *Class-Balanced Loss Based on
        Effective Number of Samples.* CVPR 2019.

        D. Eigen, R. Fergus. *Predicting Depth, Surface Normals and Semantic Labels with a
        Common Multi-Scale Convolutional Architecture.* ICCV 2015.

    Example:
        >>> y = [0, 0, 0, 1]
        >>> class_weights(y)  # 4 / (2 * 3), 4 / (2 * 1)
        array([0.66666667, 2.        ])
        >>> class_weights(counts=[30, 10], scheme="inverse", normalize="classes")
        array([0.5, 1.5])
        >>> class_weights(y, num_classes=3, absent="zero")
        array([0.66666667, 2.        , 0.        ])
    """
    beta_f, power_f = _check_options(scheme, normalize, beta, power)
    check_choice(absent, "absent", ABSENT)
    if num_classes is not None:
        num_classes = check_positive_int(num_classes, "num_classes")
    if (y is None) == (counts is None):
        raise ValueError(
            "give exactly one of y (labels) and counts; got "
            + ("both" if y is not None else "neither")
        )
    per_image: np.ndarray | None = None
    if y is not None:
        labels = as_label_array(y, "y", num_classes=num_classes)
        if labels.size == 0:
            raise ValueError("y must hold at least one label; got an empty array")
        c = num_classes if num_classes is not None else int(labels.max()) + 1
        n = np.bincount(labels.reshape(-1), minlength=c).astype(np.float64)
        source = "y"
    else:
        arr = as_float64_array(counts, "counts")
        if arr.ndim not in (1, 2):
            raise ValueError(
                f"counts must have shape (C,) or (M, C) (per-image counts); got shape {arr.shape}"
            )
        if arr.shape[-1] == 0:
            raise ValueError(f"counts must hold at least one class; got shape {arr.shape}")
        check_finite_nonnegative(arr, "counts", force=True)
        if num_classes is not None and arr.shape[-1] != num_classes:
            raise ValueError(
                f"counts must have {num_classes} classes (num_classes) along its last axis; got "
                f"shape {arr.shape}"
            )
        if arr.ndim == 2:
            n = arr.sum(axis=0)
            per_image = arr if scheme == "median_frequency" else None
        else:
            n = arr
        source = "counts"
    if not n.sum() > 0:
        raise ValueError(f"{source} must hold at least one non-zero count; got all zeros")
    if absent == "error" and not np.all(n > 0):
        raise ValueError(_absent_message(np.flatnonzero(n == 0), source))
    w = _weights_from_counts(
        n[None, :],
        scheme=scheme,
        normalize=normalize,
        beta=beta_f,
        power=power_f,
        per_image=per_image,
    )
    return np.ascontiguousarray(w[0], dtype=np.float64)


def _binary_matrix(Y: Any) -> np.ndarray:
    arr = to_numpy(Y)
    if arr.ndim != 2:
        raise ValueError(
            f"Y must be a 2-D (N, L) matrix of 0/1 labels; got shape {arr.shape}"
            + (" (reshape a single label to (N, 1))" if arr.ndim == 1 else "")
        )
    if arr.shape[0] == 0:
        raise ValueError(f"Y must hold at least one sample; got shape {arr.shape}")
    if arr.dtype.kind == "b":
        return arr.astype(np.float64)
    if arr.dtype.kind not in "iuf":
        arr = as_float64_array(arr, "Y")
    bad = ~((arr == 0) | (arr == 1))
    hits = np.flatnonzero(bad)
    if hits.size:
        pos = int(hits[0])
        raise ValueError(
            f"Y must hold 0/1 labels; got {arr.reshape(-1)[pos].item()!r} at "
            f"{format_index(pos, arr.shape)}"
        )
    return arr.astype(np.float64)


def multilabel_weights(
    Y: Any = None,
    *,
    pos_counts: Any = None,
    num_samples: Any = None,
    scheme: str = "balanced",
    normalize: str = "samples",
    beta: float = 0.999,
    power: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Estimate per-label ``pos_weight`` and ``neg_weight`` for multi-label targets.

    Each label ``l`` is a two-class problem, negatives (class 0, count ``N_l - P_l``) against
    positives (class 1, count ``P_l``), weighted by :func:`class_weights` with the same
    ``scheme``, ``normalize``, ``beta`` and ``power`` and with ``absent="zero"``. Under the
    default ``normalize="samples"``, ``P_l · pos_weight_l + (N_l - P_l) · neg_weight_l = N_l``
    for every label; with ``"balanced"``, ``pos_weight_l = N_l / (2 P_l)`` and ``neg_weight_l =
    N_l / (2 (N_l - P_l))``.

    A label with no positives is not an error: it gets ``pos_weight`` 0 and ``neg_weight`` 1
    (and vice versa for a label that is always positive), under every scheme and
    normalisation.

    The pair plugs into the binary cross-entropy of the weighting contract:
    ``ω·L = s·[pos_weight·t·(−log σ(x)) + neg_weight·(1−t)·(−log(1−σ(x)))]``. PyTorch's
    ``BCEWithLogitsLoss(pos_weight=...)`` has no negative term; its ``pos_weight`` is the ratio
    ``pos_weight / neg_weight``.

    Args:
        Y: an ``(N, L)`` matrix of 0/1 (or boolean) labels. Lists, NumPy, torch or pandas.
        pos_counts: ``(L,)`` positive counts per label, instead of ``Y``.
        num_samples: with ``pos_counts``: the number of samples ``N``, a scalar, or an ``(L,)``
            vector when labels were annotated on different numbers of samples. Each count must
            be at least the label's positive count.
        scheme: one of :data:`SCHEMES`, as in :func:`class_weights`.
        normalize: ``"samples"``, ``"classes"`` or ``"none"``, per label.
        beta: ``β`` for ``"effective"``.
        power: the exponent for ``"power"``.

    Returns:
        ``(pos_weight, neg_weight)``, two NumPy ``float64`` arrays of shape ``(L,)``.

    Raises:
        ValueError: for entries of ``Y`` other than 0/1, negative or non-finite counts, a
            positive count above ``num_samples``, a label with no samples, both or neither of
            ``Y`` and ``pos_counts``, or an unknown option.

    Example:
        >>> Y = [[1, 0], [0, 0], [0, 1], [0, 1]]
        >>> pos_weight, neg_weight = multilabel_weights(Y)
        >>> pos_weight  # 4 / (2 * 1), 4 / (2 * 2)
        array([2., 1.])
        >>> neg_weight  # 4 / (2 * 3), 4 / (2 * 2)
        array([0.66666667, 1.        ])
    """
    beta_f, power_f = _check_options(scheme, normalize, beta, power)
    if (Y is None) == (pos_counts is None):
        raise ValueError(
            "give exactly one of Y (labels) and pos_counts; got "
            + ("both" if Y is not None else "neither")
        )
    if Y is not None:
        if num_samples is not None:
            raise ValueError(
                f"num_samples is only used with pos_counts (Y has its own rows); got "
                f"num_samples={num_samples!r}"
            )
        mat = _binary_matrix(Y)
        pos = mat.sum(axis=0)
        total = np.full_like(pos, float(mat.shape[0]))
    else:
        pos = as_float64_array(pos_counts, "pos_counts")
        if pos.ndim != 1:
            raise ValueError(f"pos_counts must have shape (L,); got shape {pos.shape}")
        check_finite_nonnegative(pos, "pos_counts", force=True)
        if num_samples is None:
            raise ValueError("num_samples is required with pos_counts; got None")
        ns = as_float64_array(num_samples, "num_samples")
        if ns.ndim != 0 and ns.shape != pos.shape:
            raise ValueError(
                f"num_samples must be a scalar or have the shape of pos_counts {pos.shape}; "
                f"got shape {ns.shape}"
            )
        check_finite_nonnegative(ns, "num_samples", force=True)
        total = np.broadcast_to(ns, pos.shape).astype(np.float64)
        over = np.flatnonzero(pos > total)
        if over.size:
            i = int(over[0])
            raise ValueError(
                f"pos_counts must not exceed num_samples; got {pos[i].item()!r} at index {i} "
                f"(num_samples={total[i].item()!r})"
            )
        empty = np.flatnonzero(total == 0)
        if empty.size:
            raise ValueError(
                f"num_samples must be positive for every label; got 0 at index {int(empty[0])}"
            )
    if pos.size == 0:
        return np.zeros(0), np.zeros(0)
    n = np.stack([total - pos, pos], axis=1)  # (L, 2): [negatives, positives]
    w = _weights_from_counts(n, scheme=scheme, normalize=normalize, beta=beta_f, power=power_f)
    # A label with one class only gets (0, 1): the absent side 0, the present 1,
    # whatever the scheme and normalisation.
    single = (n > 0).sum(axis=1) == 1
    w[single] = (n[single] > 0).astype(np.float64)
    return np.ascontiguousarray(w[:, 1]), np.ascontiguousarray(w[:, 0])
