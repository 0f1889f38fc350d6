"""Release checks of the built distributions (``make dist``).

    python tools/check_dist.py contents dist/     # what the wheel and the sdist hold
    python tools/check_dist.py imports            # in the fresh venv: every public subpackage

The wheel must hold the package (every module of src/weightwise), ``py.typed`` and its
metadata, and nothing else: no tests, docs, benchmarks or data files. The sdist must hold the
sources needed to build it again and none of the build outputs (site/, docs/_generated/,
.venv/). Prints one line per check; exits 1 with the reasons when one fails.
"""

from __future__ import annotations

import importlib
import sys
import tarfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Public subpackages that import with the core dependencies and the [cli] extra alone.
PUBLIC = [
    "weightwise",
    "weightwise.reduction",
    "weightwise.losses",
    "weightwise.nn",
    "weightwise.weights",
    "weightwise.metrics",
    "weightwise.metrics.functional",
    "weightwise.data",
    "weightwise.datasets",
    "weightwise.decision",
    "weightwise.schedules",
    "weightwise.comparison",
    "weightwise.cli",
]
#: Public subpackages that need an extra: importing them without it must fail cleanly.
NEED_EXTRA = {"weightwise.keras": "keras", "weightwise.integrations.transformers": "transformers"}


def _fail(problems: list[str]) -> int:
    for p in problems:
        print(f"FAIL {p}")
    return 1 if problems else 0


def check_wheel(wheel: Path) -> list[str]:
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"weightwise-{wheel.name.split('-')[1]}.dist-info/"
    problems = [n for n in names if not (n.startswith("weightwise/") or n.startswith(dist_info))]
    problems = [f"{wheel.name}: unexpected file {n}" for n in problems]
    package = {n for n in names if n.startswith("weightwise/")}
    source = {
        p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src" / "weightwise").rglob("*.py")
    }
    problems += [f"{wheel.name}: missing module {m}" for m in sorted(source - package)]
    extra = {n for n in package if not n.endswith(".py")} - {"weightwise/py.typed"}
    problems += [f"{wheel.name}: a data file {n}" for n in sorted(extra)]
    if "weightwise/py.typed" not in package:
        problems.append(f"{wheel.name}: no py.typed")
    for required in ("METADATA", "entry_points.txt", "licenses/LICENSE"):
        if dist_info + required not in names:
            problems.append(f"{wheel.name}: no {dist_info}{required}")
    if not problems:
        print(f"ok   {wheel.name}: {len(package)} package files (py.typed included), metadata")
    return problems


def check_sdist(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as tar:
        names = [n.split("/", 1)[1] for n in tar.getnames() if "/" in n]
    problems = [
        f"{sdist.name}: build output {n}"
        for n in names
        if n.split("/")[0] in {"site", ".venv", "dist", "build"} or n.startswith("docs/_generated")
    ]
    for required in ("pyproject.toml", "README.md", "LICENSE", "src/weightwise/__init__.py"):
        if required not in names:
            problems.append(f"{sdist.name}: no {required}")
    if not problems:
        print(f"ok   {sdist.name}: {len(names)} files, sources only")
    return problems


def contents(dist: Path) -> int:
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        return _fail([f"{dist}: expected one wheel and one sdist, got {wheels + sdists}"])
    return _fail(check_wheel(wheels[0]) + check_sdist(sdists[0]))


def imports() -> int:
    problems = []
    for name in PUBLIC:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # report every failure, not the first
            problems.append(f"import {name}: {type(exc).__name__}: {exc}")
            continue
        if ROOT / "src" in Path(module.__file__ or "").parents:
            problems.append(f"{name} imported from the source tree, not the installed wheel")
        missing = []
        for n in getattr(module, "__all__", []):
            if f"{name}.{n}" in NEED_EXTRA:  # a lazy subpackage that needs an extra
                continue
            if not hasattr(module, n):
                missing.append(n)
        if missing:
            problems.append(f"{name}: __all__ names missing {missing}")
    for name, extra in NEED_EXTRA.items():
        try:
            importlib.import_module(name)
        except ImportError as exc:
            print(f"ok   {name} needs weightwise[{extra}]: {exc}")
        else:
            print(f"ok   {name} imports")
    if not problems:
        import weightwise

        print(f"ok   {len(PUBLIC)} public subpackages import (weightwise {weightwise.__version__})")
    return _fail(problems)


def main(argv: list[str]) -> int:
    if argv[:1] == ["contents"] and len(argv) == 2:
        return contents(Path(argv[1]))
    if argv == ["imports"]:
        return imports()
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
