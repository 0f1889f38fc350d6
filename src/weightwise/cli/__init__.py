"""The ``weightwise`` command-line tool.

Subcommands:

- ``weightwise inspect``: class counts, imbalance ratio, Kish effective sample size and every
  class-weight scheme's weights and loss shares, on the built-in digits-LT data or on a CSV /
  Parquet file (``--data PATH --target COLUMN [--weight-column COLUMN]``), as tables or
  ``--json``.

Needs the ``cli`` extra (``pip install 'weightwise[cli]'``). A user's mistake exits with status 2
and one ``error: …`` line on stderr.

Example:
    $ weightwise inspect --imbalance-ratio 50
    $ weightwise inspect --data train.parquet --target label --weight-column w --json
"""

from __future__ import annotations

from ._app import UserError, app, main

__all__ = ["UserError", "app", "main"]
