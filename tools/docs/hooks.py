"""MkDocs hooks (mkdocs.yml ``hooks:``): generate docs/_generated/ when a file is missing.

``make docs`` regenerates it when the sources change; this hook lets a bare ``mkdocs build``
or ``mkdocs serve`` work from a fresh clone too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

_GENERATE = Path(__file__).with_name("generate.py")


def on_pre_build(config: Any, **kwargs: Any) -> None:
    subprocess.run([sys.executable, str(_GENERATE), "--if-missing"], check=True)
