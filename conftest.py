"""How `make test` shares the machine between pytest-xdist's workers (`-n auto --dist loadscope`).

- Each notebook runs whole in one worker, its cells in order in one kernel; each test file runs whole in
  one worker, so its fixtures are made once per run. The book is built once for all workers
  (tests/conftest.py).
- The workers share the cores: each worker's notebook kernels get cores / workers threads, unless the
  caller chose a thread count. Two processes that each ask for every core wait on each other.
- The notebooks go out from the last chapter to the first: the long ones early, so that the short ones
  are left for the end and both workers finish together.
"""

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")  # set in each worker, never in a run without xdist
    if workers and "OMP_NUM_THREADS" not in os.environ:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        os.environ["OMP_NUM_THREADS"] = str(max(1, cores // int(workers)))  # inherited by the kernels


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return  # one process: the chapters in reading order
    slots = [n for n, item in enumerate(items) if item.path.suffix == ".ipynb"]
    # sorted() is stable: each notebook's cells keep their order.
    by_chapter = sorted((items[n] for n in slots), key=lambda item: item.path.name, reverse=True)
    for n, item in zip(slots, by_chapter):
        items[n] = item
