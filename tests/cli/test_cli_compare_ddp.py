"""`weightwise compare` under torchrun with 2 gloo processes.

The oracle is the 1-process run with the same seed and global batch size: every metric and
history value of the 2-process ``results.json`` must equal it to 1e-5, AUROC to 1e-4 (a few
swapped near-ties; docs/scaling.md says which values are exactly equal and why the others
differ in the last bits). A user's mistake
must exit 2 on every rank with one ``error:`` line from rank 0, and never hang.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from weightwise.cli._app import app

TOL = 1e-5
# AUROC is a rank statistic: a last-bit difference between two nearly tied test scores swaps
# them, and each swapped pair moves the macro AUROC by 1/(C·P_c·N_c) (1/81000 = 1.2e-5 seen
# here: 0.7847160 with 2 processes, 0.7847284 with 1). 1e-4 allows a few swaps; a real
# difference (a wrongly sharded test set, another model) moves it by far more.
RANK_TOL = 1e-4
RANK_METRICS = ("auroc", "average_precision")
TIMEOUT_S = 300
PORT_IN_USE = ("address already in use", "eaddrinuse", "errno 98")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env() -> dict[str, str]:
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": os.pathsep.join(sys.path)}
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    return env


def _torchrun(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``torchrun --nproc-per-node 2 -m weightwise ARGS``; one retry if the port was taken."""
    for attempt in range(2):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1",
               "--nproc-per-node", "2", "--master-addr", "127.0.0.1",
               "--master-port", str(_free_port()), "-m", "weightwise", *args]  # fmt: skip
        proc = subprocess.run(
            cmd, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=TIMEOUT_S
        )
        text = (proc.stdout + proc.stderr).lower()
        if attempt == 0 and proc.returncode != 0 and any(m in text for m in PORT_IN_USE):
            continue
        break
    return proc


def _one_process(args: list[str]) -> None:
    r = CliRunner().invoke(app, args, prog_name="weightwise")
    assert r.exit_code == 0, r.output


def _assert_close(a: Any, b: Any, path: str = "") -> int:
    """Every float of ``a`` within TOL of ``b`` (NaN equals NaN); the rest equal. Returns the
    number of floats compared."""
    if isinstance(a, dict):
        assert a.keys() == b.keys(), f"{path}: keys differ: {set(a) ^ set(b)}"
        return sum(_assert_close(a[k], b[k], f"{path}/{k}") for k in a)
    if isinstance(a, list):
        assert len(a) == len(b), f"{path}: lengths {len(a)} != {len(b)}"
        return sum(
            _assert_close(u, v, f"{path}[{i}]") for i, (u, v) in enumerate(zip(a, b, strict=True))
        )
    if isinstance(a, float) or isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return 1
        tol = RANK_TOL if path.rsplit("/", 1)[-1] in RANK_METRICS else TOL
        assert abs(a - b) <= tol, f"{path}: 2 processes {a!r} != 1 process {b!r}"
        return 1
    assert a == b, f"{path}: {a!r} != {b!r}"
    return 0


@pytest.mark.parametrize(
    "extra",
    [
        ["--strategies", "none,balanced"],
        # Uneven shares (45 = 23 + 22) and the class-balanced sampler's global draw.
        ["--strategies", "resample,ldam_drw", "--batch-size", "45"],
    ],
    ids=["none-balanced", "resample-ldam-odd-batch"],
)
def test_two_processes_equal_one_process(tmp_path: Path, extra: list[str]) -> None:
    args = ["compare", "--epochs", "2", "--seed", "3", *extra]
    ddp = _torchrun([*args, "--out", str(tmp_path / "A")], cwd=tmp_path)
    assert ddp.returncode == 0, ddp.stdout + ddp.stderr
    _one_process([*args, "--out", str(tmp_path / "B")])

    a = json.loads((tmp_path / "A" / "results.json").read_text())
    b = json.loads((tmp_path / "B" / "results.json").read_text())
    assert a["config"].pop("world_size") == 2
    assert b["config"].pop("world_size") == 1
    n_floats = _assert_close(a, b)
    assert n_floats > 100  # every metric, history value, confusion cell and reliability bin
    for st in a["strategies"].values():
        assert [h["epoch"] for h in st["history"]] == [1, 2]
    # Rank 0 alone prints the table and writes the outputs.
    assert ddp.stdout.count("results: ") == 1, ddp.stdout
    assert (tmp_path / "A" / "report.html").is_file()


def _launch_ranks(args: list[str], cwds: list[Path]) -> list[subprocess.CompletedProcess[str]]:
    """Start the ranks as torchrun does (its environment variables), one cwd per rank, so
    that each rank's exit status and output can be checked on its own."""
    for attempt in range(2):
        port = str(_free_port())
        procs = []
        for rank, cwd in enumerate(cwds):
            env = {**_env(), "WORLD_SIZE": str(len(cwds)), "RANK": str(rank),
                   "LOCAL_RANK": str(rank), "LOCAL_WORLD_SIZE": str(len(cwds)),
                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": port}  # fmt: skip
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "weightwise", *args],
                    cwd=cwd,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        done = []
        try:
            for p in procs:
                out, err = p.communicate(timeout=120)
                done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
        finally:
            for p in procs:  # never leave a hung rank behind
                if p.poll() is None:
                    p.kill()
                    p.wait()
        text = "".join(d.stdout + d.stderr for d in done).lower()
        if attempt == 0 and any(m in text for m in PORT_IN_USE):
            continue
        return done
    raise AssertionError("unreachable")


def _error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_missing_file_under_torchrun_exits_2_with_one_line(tmp_path: Path) -> None:
    r = _torchrun(["compare", "--data", "missing.csv", "--target", "y"], cwd=tmp_path)
    assert r.returncode != 0
    lines = _error_lines(r.stdout + r.stderr)
    assert lines == ["error: file not found: missing.csv"], r.stderr
    # torchrun's failure summary lists each rank with the status it exited with.
    assert r.stderr.count("exitcode  : 2") == 2, r.stderr
    # The only traceback is torchrun's own summary; none comes from a rank.
    assert "weightwise/cli" not in r.stderr and "[rank " not in r.stderr, r.stderr


@pytest.mark.parametrize("only_rank1_fails", [False, True], ids=["both-ranks", "rank-1-only"])
def test_user_mistake_exits_2_on_every_rank(tmp_path: Path, only_rank1_fails: bool) -> None:
    cwds = [tmp_path / "r0", tmp_path / "r1"]
    for d in cwds:
        d.mkdir()
    if only_rank1_fails:  # the file exists where rank 0 runs, not where rank 1 does
        (cwds[0] / "t.csv").write_text("x,y\n1,a\n2,b\n3,a\n4,b\n5,a\n6,b\n7,a\n8,b\n")
    done = _launch_ranks(["compare", "--data", "t.csv", "--target", "y"], cwds)
    assert [d.returncode for d in done] == [2, 2], [d.stderr for d in done]
    expected = (
        "error: rank 1: file not found: t.csv"
        if only_rank1_fails
        else ("error: file not found: t.csv")
    )
    assert _error_lines(done[0].stderr) == [expected], done[0].stderr
    assert done[0].stderr.strip() == expected
    assert done[1].stderr.strip() == "" and done[1].stdout.strip() == ""
