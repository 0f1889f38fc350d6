"""Pixel weight maps for dense prediction (segmentation).

* :func:`class_weight_map`: a per-pixel map ``class_weight[mask]`` (0 on ignored pixels);
* :func:`pixel_sample_weight`: the same as a NumPy ``float32`` ``(N, H, W)`` array, the
  ``sample_weight`` that Keras ``fit`` accepts for segmentation (Keras 3's ``class_weight``
  fails for targets of rank 3 and more);
* :func:`pixel_class_weights`: class weights estimated from masks, median frequency by default
  (Eigen & Fergus 2015: a class's frequency counts only the images that contain it);
* :func:`border_weight_map`: the U-Net weight map (Ronneberger et al. 2015) that up-weights the
  background gaps between touching instances.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from .._checks import DTypeError, format_index
from .._contract import class_weight_vector
from ._class import class_weights
from ._common import (
    as_weight_array,
    check_positive_int,
    check_real,
    to_numpy,
)

__all__ = [
    "border_weight_map",
    "class_weight_map",
    "pixel_class_weights",
    "pixel_sample_weight",
]


def _label_values(mask: np.ndarray, name: str) -> np.ndarray:
    """Integer labels as int64 (whole-number floats and booleans accepted)."""
    if mask.dtype.kind == "b":
        return mask.astype(np.int64)
    if mask.dtype.kind == "f":
        bad = ~np.isfinite(mask) | (mask != np.floor(mask))
        hits = np.flatnonzero(bad)
        if hits.size:
            pos = int(hits[0])
            raise ValueError(
                f"{name} must hold integer class indices; got {mask.reshape(-1)[pos].item()!r} "
                f"at {format_index(pos, mask.shape)}"
            )
        return mask.astype(np.int64)
    if mask.dtype.kind not in "iu":
        raise DTypeError(f"{name} must hold integer class indices; got dtype {mask.dtype}")
    return mask.astype(np.int64, copy=False)


def _check_labels(
    labels: np.ndarray,
    name: str,
    num_classes: int,
    ignore_index: int | None,
    defined: np.ndarray | None = None,
) -> np.ndarray:
    """The valid-pixel mask; a ``ValueError`` for a label outside ``[0, C)`` (or undefined)."""
    valid = np.ones(labels.shape, dtype=bool) if ignore_index is None else labels != ignore_index
    bad = valid & ((labels < 0) | (labels >= num_classes))
    if defined is not None and not defined.all():
        inside = np.clip(labels, 0, num_classes - 1)
        bad |= valid & ~bad & ~defined[inside]
    hits = np.flatnonzero(bad)
    if hits.size:
        pos = int(hits[0])
        value = labels.reshape(-1)[pos].item()
        allowed = f"[0, {num_classes})"
        if defined is not None and not defined.all() and 0 <= value < num_classes:
            raise ValueError(
                f"{name} holds class {value!r} at {format_index(pos, labels.shape)}, which has "
                f"no entry in class_weight"
            )
        if ignore_index is not None:
            allowed += f" or ignore_index={ignore_index}"
        raise ValueError(
            f"{name} must hold class indices in {allowed}; got {value!r} at "
            f"{format_index(pos, labels.shape)} (mask shape {labels.shape})"
        )
    return valid


def class_weight_map(mask: Any, class_weight: Any, *, ignore_index: int | None = None) -> Any:
    """A per-pixel weight map ``class_weight[mask]``, with 0 on ignored pixels.

    Args:
        mask: integer class indices, any shape, e.g. ``(N, H, W)``. A torch tensor, NumPy
            array or list.
        class_weight: a ``(C,)`` vector or a ``{class: weight}`` dict (a Keras
            ``class_weight``); every class in ``mask`` must have a weight.
        ignore_index: a mask value whose pixels get weight 0.

    Returns:
        The input's type: a torch tensor (float32, or the dtype of a floating
        ``class_weight`` tensor, on the mask's device) for a tensor mask, else a NumPy
        ``float64`` array; the mask's shape.

    Raises:
        ValueError: for a mask value outside ``[0, C)`` other than ``ignore_index`` (naming the
            position, the value and the shape), or a class without a weight.

    Example:
        >>> import numpy as np
        >>> class_weight_map(np.array([[0, 1], [1, 255]]), [0.5, 2.0], ignore_index=255)
        array([[0.5, 2. ],
               [2. , 0. ]])
    """
    values, defined = class_weight_vector(class_weight)
    if isinstance(mask, torch.Tensor):
        labels = _label_values(mask.detach().cpu().numpy(), "mask")
        valid = _check_labels(labels, "mask", values.size, ignore_index, defined)
        dtype = (
            class_weight.dtype
            if isinstance(class_weight, torch.Tensor) and class_weight.is_floating_point()
            else torch.float32
        )
        cw = torch.as_tensor(values, dtype=dtype, device=mask.device)
        m = mask.long()
        valid_t = torch.as_tensor(valid, device=mask.device)
        safe = torch.where(valid_t, m, torch.zeros_like(m))
        return torch.where(valid_t, cw[safe], torch.zeros((), dtype=dtype, device=mask.device))
    labels_np = _label_values(to_numpy(mask), "mask")
    valid_np = _check_labels(labels_np, "mask", values.size, ignore_index, defined)
    safe_np = np.where(valid_np, labels_np, 0)
    return np.where(valid_np, values[safe_np] if values.size else 0.0, 0.0)


def pixel_sample_weight(
    masks: Any, class_weight: Any, *, ignore_index: int | None = None
) -> np.ndarray:
    """Per-pixel ``sample_weight`` for Keras ``fit`` on segmentation masks.

    Keras 3 applies ``class_weight`` only to targets of rank 2 or less, so a segmentation model
    fit on ``(N, H, W)`` masks cannot use it. A per-pixel ``sample_weight`` of the masks' shape
    is the working equivalent: Keras multiplies each pixel's loss by it, and its default
    ``sum_over_batch_size`` reduction divides by the number of pixels (weightwise's
    ``reduction="mean"``). This function needs no Keras import::

        model.fit(images, masks, sample_weight=pixel_sample_weight(masks, {0: 0.3, 1: 3.0}))

    Args:
        masks: integer masks ``(N, H, W)`` or ``(N, H, W, 1)`` (NumPy, torch, lists; whole-
            number floats accepted).
        class_weight: a ``(C,)`` vector or a ``{class: weight}`` dict.
        ignore_index: a mask value whose pixels get weight 0.

    Returns:
        A NumPy ``float32`` array of shape ``(N, H, W)``.

    Example:
        >>> import numpy as np
        >>> masks = np.array([[[0, 1], [1, 1]]])
        >>> pixel_sample_weight(masks, {0: 2.0, 1: 0.5})
        array([[[2. , 0.5],
                [0.5, 0.5]]], dtype=float32)
    """
    arr = to_numpy(masks)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim != 3:
        raise ValueError(
            f"masks must have shape (N, H, W) or (N, H, W, 1); got shape {tuple(arr.shape)}"
        )
    out = class_weight_map(arr, class_weight, ignore_index=ignore_index)
    return np.ascontiguousarray(out, dtype=np.float32)


def _per_image_counts(masks: Any, num_classes: int, ignore_index: int | None) -> np.ndarray:
    """``(M, C)`` pixel counts per image, ignored pixels left out."""
    if isinstance(masks, (list, tuple)) and masks and not np.isscalar(masks[0]):
        images = [to_numpy(m) for m in masks]
        if len({im.shape for im in images}) > 1:  # ragged: images of different sizes
            return np.concatenate(
                [_per_image_counts(im[None], num_classes, ignore_index) for im in images]
            )
    arr = to_numpy(masks)
    if arr.ndim < 2:
        raise ValueError(
            f"masks must have shape (M, d1, ...), one mask per image; got shape {arr.shape}"
        )
    labels = _label_values(arr, "masks")
    valid = _check_labels(labels, "masks", num_classes, ignore_index)
    m = labels.shape[0]
    flat = labels.reshape(m, -1)
    offsets = np.arange(m, dtype=np.int64)[:, None] * num_classes
    idx = (flat + offsets)[valid.reshape(m, -1)]
    return np.bincount(idx, minlength=m * num_classes).reshape(m, num_classes).astype(np.float64)


def pixel_class_weights(
    masks: Any,
    *,
    num_classes: int,
    scheme: str = "median_frequency",
    ignore_index: int | None = None,
    normalize: str = "samples",
    absent: str = "error",
    beta: float = 0.999,
    power: float = 1.0,
) -> np.ndarray:
    """Class weights from segmentation masks, counting pixels per image.

    The masks are counted per image into an ``(M, C)`` array ``n_mc`` (ignored pixels left
    out) and passed to :func:`weightwise.weights.class_weights` as ``counts``. For
    ``"median_frequency"`` (Eigen & Fergus 2015, the default here) this gives

        ``freq_c = Σ_m n_mc / Σ_{m: n_mc > 0} total_m``,  ``w_c = median(freq) / freq_c``

    where a class's frequency counts only the images that contain it. Every other scheme uses
    the pixel totals ``Σ_m n_mc``. ``normalize`` and ``absent`` have the meanings and defaults
    of :func:`~weightwise.weights.class_weights` (``normalize="none"`` gives the paper's numbers).

    Args:
        masks: integer masks ``(M, d1, ...)``, or a list of masks of different sizes.
        num_classes: ``C``.
        scheme: any scheme of :func:`~weightwise.weights.class_weights`.
        ignore_index: a mask value whose pixels are not counted.
        normalize: ``"samples"`` (default), ``"classes"`` or ``"none"``.
        absent: ``"error"`` (default) or ``"zero"``.
        beta, power: as in :func:`~weightwise.weights.class_weights`.

    Returns:
        A NumPy ``float64`` array ``(C,)``.

    Example:
        >>> import numpy as np
        >>> masks = np.array([[[0, 0], [0, 1]], [[0, 0], [0, 0]]])
        >>> pixel_class_weights(masks, num_classes=2, normalize="none")
        array([0.64285714, 2.25      ])
    """
    counts = _per_image_counts(masks, check_positive_int(num_classes, "num_classes"), ignore_index)
    return class_weights(
        counts=counts,
        scheme=scheme,
        num_classes=int(num_classes),
        normalize=normalize,
        absent=absent,
        beta=beta,
        power=power,
    )


def _border_one(labels: np.ndarray, w0: float, sigma: float, wc: np.ndarray | None) -> np.ndarray:
    from scipy import ndimage  # lazy: scipy is not a core dependency

    background = labels == 0
    out = np.ones(labels.shape) if wc is None else np.where(background, wc[0], wc[1])
    ids = np.unique(labels[~background])
    if ids.size < 2:
        return out
    # d1, d2: distances to the nearest and second-nearest instance, kept as running minima so
    # that memory stays O(H·W) however many instances there are.
    d1 = np.full(labels.shape, np.inf)
    d2 = np.full(labels.shape, np.inf)
    for i in ids:
        d = ndimage.distance_transform_edt(labels != i)
        d2 = np.minimum(d2, np.maximum(d1, d))
        d1 = np.minimum(d1, d)
    border = w0 * np.exp(-((d1 + d2) ** 2) / (2.0 * sigma**2))
    return out + np.where(background, border, 0.0)


def border_weight_map(
    instances: Any,
    *,
    w0: float = 10.0,
    sigma: float = 5.0,
    class_weight: Any = None,
) -> Any:
    """The U-Net weight map (Ronneberger et al. 2015) that separates touching instances.

    ``w(x) = w_c(x) + w0 · exp(-(d1(x) + d2(x))² / (2σ²))`` where ``d1`` and ``d2`` are the
    Euclidean distances from ``x`` to the nearest and the second-nearest instance (computed with
    ``scipy.ndimage.distance_transform_edt``). The border term is added on background pixels
    only, as the reference implementations do; an image with fewer than two instances has no
    border term. ``w_c`` is ``class_weight[0]`` on background and ``class_weight[1]`` on
    foreground, or 1 everywhere with ``class_weight=None``.

    Args:
        instances: instance labels ``(H, W)`` or ``(N, H, W)``: 0 is background, each positive
            integer one instance (a torch tensor, NumPy array or list).
        w0: the border weight (``>= 0``); the paper uses 10.
        sigma: the border width in pixels (``> 0``); the paper uses about 5.
        class_weight: ``(2,)`` ``[background, foreground]`` weights, or ``None``.

    Returns:
        The input's shape and type: a float32 torch tensor for a tensor, else NumPy
        ``float64``.

    Example:
        >>> import numpy as np
        >>> inst = np.array([[1, 0, 0, 2]])
        >>> w = border_weight_map(inst, w0=10.0, sigma=5.0)   # gap pixels: 1 + 10·exp(-9/50)
        >>> round(float(w[0, 1]), 4)
        9.3527
    """
    w0_f = check_real(w0, "w0")
    sigma_f = check_real(sigma, "sigma")
    if not (np.isfinite(w0_f) and w0_f >= 0):
        raise ValueError(f"w0 must be finite and non-negative; got {w0!r}")
    if not (np.isfinite(sigma_f) and sigma_f > 0):
        raise ValueError(f"sigma must be finite and positive; got {sigma!r}")
    wc: np.ndarray | None = None
    if class_weight is not None:
        wc = as_weight_array(class_weight, "class_weight")
        if wc.shape != (2,):
            raise ValueError(
                f"class_weight must have shape (2,), [background, foreground]; got shape {wc.shape}"
            )
    arr = to_numpy(instances)
    if arr.ndim not in (2, 3):
        raise ValueError(f"instances must have shape (H, W) or (N, H, W); got shape {arr.shape}")
    labels = _label_values(arr, "instances")
    neg = np.flatnonzero(labels < 0)
    if neg.size:
        pos = int(neg[0])
        raise ValueError(
            f"instances must hold labels >= 0 (0 is background); got "
            f"{labels.reshape(-1)[pos].item()!r} at {format_index(pos, labels.shape)}"
        )
    if labels.ndim == 2:
        out = _border_one(labels, w0_f, sigma_f, wc)
    else:
        out = (
            np.stack([_border_one(im, w0_f, sigma_f, wc) for im in labels])
            if len(labels)
            else np.zeros(labels.shape)
        )
    if isinstance(instances, torch.Tensor):
        return torch.as_tensor(out, dtype=torch.float32, device=instances.device)
    return out
