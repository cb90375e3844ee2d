"""The exercise checkers, speaking Korean: the Korean learner's edition (exercises_ko/) imports them from here.

    from transformer_lab.checks.ko import check_softmax
    check_softmax(my_softmax)  # ✓ softmax: 사례 6개 모두 맞다

Each is the checker of the same name in `transformer_lab.checks`, with the same cases and the same known
mistakes; only its words change (engine.speaking).
"""

from __future__ import annotations

from collections.abc import Callable

from .. import checks
from .engine import speaking

__all__ = checks.__all__


def __getattr__(name: str) -> Callable:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return speaking("ko", getattr(checks, name))


def __dir__() -> list[str]:
    return list(__all__)
