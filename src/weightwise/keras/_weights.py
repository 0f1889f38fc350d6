"""Class weights in the form ``keras.Model.fit(class_weight=...)`` wants."""

from __future__ import annotations

from typing import Any

from ..weights import class_weights

__all__ = ["class_weight_dict"]


def class_weight_dict(
    y: Any = None,
    *,
    counts: Any = None,
    scheme: str = "balanced",
    num_classes: int | None = None,
    **kwargs: Any,
) -> dict[int, float]:
    """``{class: weight}`` for ``fit(class_weight=...)``, from :func:`weightwise.class_weights`.

    Takes the same arguments as :func:`weightwise.weights.class_weights` (labels ``y`` or
    ``counts``, ``scheme``, ``num_classes``, ``beta``, ``power``, ``normalize``, ``absent``) and
    returns plain Python ``int`` keys and ``float`` values. One-hot labels ``(N, C)`` are turned
    into class indices by ``argmax`` first, as Keras does for ``class_weight``.

    Keras turns the dict into a sample weight ``s = class_weight[y]`` per sample, so under
    ``fit`` it is exactly a sample weight gathered by label; it never reaches the validation
    loss (see :class:`weightwise.keras.WeightedValidation`). For segmentation masks, where
    Keras' ``class_weight`` fails, use :func:`weightwise.weights.pixel_sample_weight` instead.

    Example:
        >>> import numpy as np
        >>> class_weight_dict(np.array([0, 0, 0, 1]))
        {0: 0.6666666666666666, 1: 2.0}
    """
    if y is not None:
        from ..weights._common import to_numpy

        arr = to_numpy(y)
        if arr.ndim == 2 and arr.shape[1] > 1:
            arr = arr.argmax(axis=1)
        elif arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        y = arr
    w = class_weights(y, counts=counts, scheme=scheme, num_classes=num_classes, **kwargs)
    return {int(i): float(v) for i, v in enumerate(w)}
