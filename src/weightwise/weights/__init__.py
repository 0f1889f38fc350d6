"""Class-weight and sample-weight estimators (NumPy ``float64`` out).

Class weights, one per class, from labels or counts:

* :func:`class_weights`: ``balanced``, ``inverse``, ``inverse_sqrt``, ``power``,
  ``effective`` (Cui et al. 2019), ``median_frequency`` (Eigen & Fergus 2015) or ``none``,
  normalised so that the mean weight per sample is 1 (default) or per class is 1;
* :func:`multilabel_weights`: per-label ``pos_weight`` and ``neg_weight``.

Sample weights, one per sample, returned raw (never normalised):

* :func:`from_class_weights`, :func:`recency`, :func:`inverse_variance`;
* :func:`clip` and :func:`normalize` to post-process them, and
  :func:`effective_sample_size` (Kish) as a diagnostic.

Example:
    >>> import numpy as np
    >>> from weightwise.weights import class_weights, from_class_weights
    >>> y = np.array([0, 0, 0, 1])
    >>> cw = class_weights(y)            # n / (K · n_c): [0.667, 2.0]
    >>> w = from_class_weights(y, cw)    # per-sample, mean 1
    >>> float(w.mean())
    1.0
"""

from __future__ import annotations

from ._class import SCHEMES, class_weights, multilabel_weights
from ._dense import (
    border_weight_map,
    class_weight_map,
    pixel_class_weights,
    pixel_sample_weight,
)
from ._sample import (
    clip,
    effective_sample_size,
    from_class_weights,
    inverse_variance,
    normalize,
    recency,
)

__all__ = [
    "SCHEMES",
    "border_weight_map",
    "class_weight_map",
    "class_weights",
    "clip",
    "effective_sample_size",
    "from_class_weights",
    "inverse_variance",
    "multilabel_weights",
    "normalize",
    "pixel_class_weights",
    "pixel_sample_weight",
    "recency",
]
