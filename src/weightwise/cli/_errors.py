"""User errors of the ``weightwise`` command: the exception type and the "exit 2, one line" rule.

Both the typer layer (``_app.py``) and the ``torchrun`` helpers (``_distributed.py``) import
this module; neither imports the other at module level.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from weightwise.datasets import DataError

__all__ = [
    "USAGE_EXIT_CODE",
    "USER_ERRORS",
    "DataError",
    "UserError",
    "env_int",
    "error_line",
    "fail",
    "is_quiet_rank",
]

#: Exit status for a user's mistake (bad option, bad data), as click uses for usage errors.
USAGE_EXIT_CODE = 2


class UserError(Exception):
    """A mistake in how the command was called; its message is shown as ``error: <message>``."""


#: The exceptions that are a user's mistake, never a bug: one ``error:`` line and exit 2.
USER_ERRORS: tuple[type[Exception], ...] = (DataError, UserError)


def error_line(message: str) -> str:
    """``message`` as the one ``error: …`` line the command prints for a user's mistake.

    Example:
        >>> error_line("bad\\n  value")
        'error: bad value\\n'
    """
    line = " ".join(str(message).split())
    return f"error: {line}\n"


def env_int(name: str, default: int) -> int:
    """The integer environment variable ``name`` (``default`` when unset or empty)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise UserError(f"environment variable {name} must be an integer, got {raw!r}") from None


def is_quiet_rank() -> bool:
    """True on every rank but 0 of a multi-process launch: such a rank prints nothing.

    Read from the environment, so it holds before the process group exists (option errors).
    """
    try:
        return env_int("WORLD_SIZE", 1) > 1 and env_int("RANK", 0) != 0
    except Exception:  # a malformed variable: let rank 0's path report it
        return False


def fail(message: str) -> NoReturn:
    """Print ``message`` as one ``error:`` line (rank 0 alone under torchrun) and exit 2."""
    if not is_quiet_rank():  # under torchrun, rank 0 alone says it; every rank exits 2
        sys.stderr.write(error_line(message))
        sys.stderr.flush()
    sys.exit(USAGE_EXIT_CODE)
