"""transformers.Trainer with WeightedLoss on 2 gloo ranks (CPU DDP): 2 ranks × 2 micro-batches
× 2 rows give, after one SGD step, the parameters of one 8-row batch in one process, with class
and sample weights (classifier) and with class and token weights (causal LM). Trainer sums
``num_items_in_batch`` (here the window's Σω) over the ranks and multiplies the loss by the
number of ranks; DDP averages the gradients.

The ranks are forked from the test process (``trainer_ddp_worker.rank_main``), which has already
imported transformers: a fresh interpreter per rank would spend most of the test re-importing it.
A forked child hangs in its first parallel kernel if the parent ever ran torch's OpenMP pool with
more than one thread (GNU OpenMP is not fork-safe); the suite runs on one intra-op thread
(tests/conftest.py), and a process with more falls back to fresh interpreters.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
import warnings
from multiprocessing.connection import wait
from pathlib import Path

import pytest
import torch

transformers = pytest.importorskip("transformers")

from test_transformers import CASES_DDP, _assert_same, _max_diff, _train  # noqa: E402
from trainer_ddp_worker import rank_main  # noqa: E402

from ddp_util import free_port, run_ddp_workers  # noqa: E402

WORLD = 2
TIMEOUT = 120.0  # seconds for all ranks together; a hung rank fails the test instead of CI


if "fork" not in multiprocessing.get_all_start_methods():
    pytest.skip("the ranks are forked (POSIX)", allow_module_level=True)


@pytest.fixture(scope="module", autouse=True)
def _no_datasets_package():
    # The suite's tests/datasets folder is importable as "datasets" under pytest; module scope,
    # for the module-scoped fixtures below.
    import transformers.trainer

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(transformers.trainer, "is_datasets_available", lambda: False)
        yield


def _rank(rank: int, port: int, out: str) -> None:
    """The forked child: run one rank; on failure leave its traceback for the parent."""
    try:
        rank_main(rank, WORLD, port, out)
    except BaseException:
        Path(out, f"rank{rank}.err").write_text(traceback.format_exc())
        raise


def _fork_ranks(out: Path) -> list[str]:
    """Fork the ranks on a free port and wait for them; return the failures (empty if none)."""
    ctx = multiprocessing.get_context("fork")  # explicit: never spawn a fresh interpreter
    port = free_port()
    procs = [ctx.Process(target=_rank, args=(r, port, str(out)), daemon=True) for r in range(WORLD)]
    with warnings.catch_warnings():
        # Python >= 3.12 warns on any fork of a multi-threaded process (torch always has native
        # threads); the hazard that matters, a used OpenMP pool, is excluded by the caller.
        warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
        for p in procs:
            p.start()
    deadline = time.monotonic() + TIMEOUT
    running = list(procs)
    # Wait for the ranks; stop at the first that fails (its peer would wait in a collective).
    while running and time.monotonic() < deadline:
        wait([p.sentinel for p in running], timeout=deadline - time.monotonic())
        for p in [p for p in running if not p.is_alive()]:
            p.join()
            running.remove(p)
        if any(p.exitcode != 0 for p in procs if p not in running):
            break
    failures = []
    for r, p in enumerate(procs):
        if p.is_alive():
            failures.append(f"rank {r} still running (timeout {TIMEOUT} s or a failed peer)")
        elif p.exitcode != 0:
            err = out / f"rank{r}.err"
            detail = err.read_text() if err.exists() else "(no traceback)"
            failures.append(f"rank {r} exited with {p.exitcode}:\n{detail}")
    if failures:
        for p in procs:
            if p.is_alive():
                p.terminate()
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()
    return failures


@pytest.fixture(scope="module")
def ddp_results(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = tmp_path_factory.mktemp("trainer_ddp")
    if torch.get_num_threads() != 1:  # an OpenMP pool may be running: forking could hang
        worker = Path(__file__).with_name("trainer_ddp_worker.py")
        run_ddp_workers(worker, out, world=WORLD, timeout=TIMEOUT)
        return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]
    failures = _fork_ranks(out)
    if failures:  # the free port can be taken by another process in between: retry once
        out = tmp_path_factory.mktemp("trainer_ddp_retry")
        failures = _fork_ranks(out)
    assert not failures, "\n".join(failures)
    return [torch.load(out / f"rank{r}.pt") for r in range(WORLD)]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The reference: each case's parameters after one step on the 8-row batch, and the start."""
    results = {}
    for name, (build, rows, loss) in CASES_DDP.items():
        start = [p.detach().clone() for p in build().parameters()]
        out = tmp_path_factory.mktemp(f"one_process_{name}")
        results[name] = start, _train(build(), rows(), loss, bs=8, ga=1, tmp_path=out)
    return results


@pytest.mark.parametrize("name", sorted(CASES_DDP))
def test_two_ranks_accumulating_equal_one_big_batch(ddp_results, one_process, name):
    start, big = one_process[name]
    assert _max_diff(big, start) > 1e-3  # the step moved the parameters
    for rank_result in ddp_results:
        _assert_same(rank_result[name], big)


def test_per_micro_batch_denominators_differ(ddp_results, one_process):
    _, big = one_process["classifier"]
    assert _max_diff(ddp_results[0]["own_denominator"], big) > 1e-4
