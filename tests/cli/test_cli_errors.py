"""The user-error module: one ``error:`` line, exit 2, and no import cycle in the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import weightwise.cli as cli_pkg
from weightwise.cli._errors import USAGE_EXIT_CODE, UserError, error_line, fail

CLI_DIR = Path(cli_pkg.__file__).parent


def _module_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside a function) by ``path``."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


@pytest.mark.parametrize(("module", "other"), [("_app", "_distributed"), ("_distributed", "_app")])
def test_app_and_distributed_do_not_import_each_other_at_module_level(module, other):
    imports = _module_level_imports(CLI_DIR / f"{module}.py")
    assert f".{other}" not in imports and f"weightwise.cli.{other}" not in imports
    assert "._errors" in imports


def test_fail_prints_one_line_and_exits_2(capsys, monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    with pytest.raises(SystemExit) as exc:
        fail("bad\nvalue   here")
    assert exc.value.code == USAGE_EXIT_CODE == 2
    assert capsys.readouterr().err == "error: bad value here\n"


def test_fail_is_silent_on_a_non_zero_rank(capsys, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(SystemExit) as exc:
        fail("x")
    assert exc.value.code == 2 and capsys.readouterr().err == ""


def test_user_error_is_the_cli_package_one():
    assert cli_pkg.UserError is UserError
    assert error_line("a") == "error: a\n"
