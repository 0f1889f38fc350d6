"""Built-in demo data and loading of users' CSV / Parquet tables.

Not imported by ``import weightwise``: this subpackage needs the ``cli`` extra
(``pip install 'weightwise[cli]'``: scikit-learn for the demo data, pandas and pyarrow for
tables), and imports them only when a function is called.

Example:
    >>> from weightwise.datasets import load_digits_lt
    >>> data = load_digits_lt(imbalance_ratio=10.0, seed=0)
    >>> data.counts.tolist()
    [114, 88, 68, 52, 40, 31, 24, 19, 14, 11]
"""

from __future__ import annotations

from ._digits_lt import LongTailedData, load_digits_lt, long_tail_counts
from ._tabular import DataError, Table, encode_labels, load_table

__all__ = [
    "DataError",
    "LongTailedData",
    "Table",
    "encode_labels",
    "load_digits_lt",
    "load_table",
    "long_tail_counts",
]
