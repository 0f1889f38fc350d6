"""Compare weighting strategies on your data: chosen on validation, reported on test.

:func:`compare` trains the same model once per strategy (plain cross-entropy, class weights,
focal, re-sampling, logit adjustment, LDAM-DRW, …), from the same initial weights, ranks them
by a validation metric and recommends one over plain training only when a paired bootstrap,
Holm-corrected, shows it ahead; the test set reports each difference with a 95% interval.
``weightwise compare`` on the command line is a front end of the same engine. Needs the
``cli`` extra (pandas, matplotlib, scikit-learn); see docs/compare.md.

Example:
    >>> import numpy as np
    >>> from weightwise.comparison import compare
    >>> rng = np.random.default_rng(0)
    >>> def split(n):
    ...     y = (rng.random(n) < 0.2).astype(np.int64)
    ...     return rng.normal(size=(n, 3)).astype(np.float32) + y[:, None], y
    >>> cmp = compare(split(150), split(80), split(80), epochs=2, n_boot=100,
    ...               strategies=["none", "balanced", "resample"])
    >>> cmp.recommendation["strategy"] in cmp.ranking
    True
"""

from __future__ import annotations

from ._api import Comparison, compare, infer_task
from ._engine import DEFAULT_STRATEGIES, SCHEMA_VERSION, STRATEGIES

__all__ = [
    "DEFAULT_STRATEGIES",
    "SCHEMA_VERSION",
    "STRATEGIES",
    "Comparison",
    "compare",
    "infer_task",
]
