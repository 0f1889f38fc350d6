"""weightwise for Keras 3: the weighting contract in ``keras.ops``, on every backend.

``import weightwise`` never imports Keras; this subpackage needs ``keras>=3``::

    pip install "keras>=3"

What it gives a Keras user:

* losses (:class:`keras.losses.Loss` subclasses) whose ``reduction=`` and ``class_weight``
  mean what they mean in :mod:`weightwise.losses`: :class:`CrossEntropy`,
  :class:`BinaryCrossEntropy`, :class:`Focal`, :class:`BinaryFocal`, :class:`AnyOf`,
  :class:`LogitAdjusted`;
* :func:`class_weight_dict` for ``fit(class_weight=...)``;
* :class:`WeightedValidation`, a callback that logs the weighted, unweighted and
  class-weighted validation loss and weighted / unweighted metrics side by side;
* :class:`WeightedPyDataset`, a ``keras.utils.PyDataset`` of ``(x, y, w)`` batches that can
  draw its batches through a weightwise sampler;
* ``tf.data`` helpers (TensorFlow imported only when called): :func:`with_class_weight`
  (``(x, y[, s]) → (x, y, s·class_weight[y])``, per pixel for masks), :func:`augment`
  (weight-carrying augmentation), :func:`stratified_split` (weights travel with samples) and
  :func:`rebalance` (class re-drawing that says what it does to the weights).

See ``docs/keras.md``.
"""

from __future__ import annotations

try:
    import keras as _keras
except ImportError as err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "weightwise.keras needs Keras 3 (keras>=3), which is not installed. Install it with "
        '`pip install "keras>=3"` (and a backend: torch, jax or tensorflow).'
    ) from err

if int(str(_keras.__version__).split(".")[0]) < 3:  # pragma: no cover
    raise ImportError(
        f"weightwise.keras needs Keras 3 (keras>=3); found keras {_keras.__version__}. "
        'Upgrade with `pip install -U "keras>=3"`.'
    )

from ._callbacks import WeightedValidation
from ._data import WeightedPyDataset
from ._losses import (
    AnyOf,
    BinaryCrossEntropy,
    BinaryFocal,
    CrossEntropy,
    Dice,
    Focal,
    LogitAdjusted,
)
from ._tfdata import augment, rebalance, stratified_split, with_class_weight
from ._weights import class_weight_dict

__all__ = [
    "AnyOf",
    "BinaryCrossEntropy",
    "BinaryFocal",
    "CrossEntropy",
    "Dice",
    "Focal",
    "LogitAdjusted",
    "WeightedPyDataset",
    "WeightedValidation",
    "augment",
    "class_weight_dict",
    "rebalance",
    "stratified_split",
    "with_class_weight",
]
