"""The checkers in Korean (transformer_lab.checks.ko): the same cases and mistakes, every word in Korean.

test_translations.py checks that the compiled catalogue is the translators'; this file checks what a learner
of the Korean edition sees: each known mistake named in Korean, and no sentence left in English.
"""

import re

import pytest
import torch
from test_checks import ALL_CORRECT, ALL_MISTAKES, _stub_like

import transformer_lab as tl
from transformer_lab import checks
from transformer_lab.checks import ko
from transformer_lab.checks.engine import LANGUAGE, in_language, tr

HANGUL = re.compile("[가-힣]")
# Four English words in a row, outside backticks: a sentence the catalogue left in English. Code in the
# messages (x.amax(-1, keepdim=True), torch.float32) has no four plain words in a row.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){3,}\b")


def english_left(message: str) -> list[str]:
    return ENGLISH.findall(re.sub(r"`[^`]*`", " ", message))


def test_english_left_finds_an_english_sentence():
    english = ALL_MISTAKES[checks.check_softmax][0].hint
    assert english_left(english) and not english_left(in_korean(english))
    assert not english_left("출력이 x.amax(-1, keepdim=True)와 `torch.float32 is not float64`를 쓴다")


def in_korean(message: str) -> str:
    with in_language("ko"):
        return tr(message)


def test_every_checker_has_its_korean_twin():
    assert ko.__all__ == checks.__all__ and sorted(dir(ko)) == sorted(checks.__all__)
    for name in checks.__all__:
        twin, english = getattr(ko, name), getattr(checks, name)
        assert twin is not english and twin.__name__ == name and twin.__doc__ == english.__doc__
    with pytest.raises(AttributeError, match="check_everything"):
        ko.check_everything  # noqa: B018


@pytest.mark.parametrize(
    "check, impl",
    [(check, impls[0]) for check, impls in ALL_CORRECT.items()],
    ids=[check.__name__ for check in ALL_CORRECT],
)
def test_a_correct_implementation_is_praised_in_korean(check, impl, capsys):
    getattr(ko, check.__name__)(impl)
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("✓ ") and HANGUL.search(line) and not english_left(line), line


@pytest.mark.parametrize(
    "check, mistake",
    [(check, m) for check, ms in ALL_MISTAKES.items() for m in ms],
    ids=[f"{check.__name__}-{i}" for check, ms in ALL_MISTAKES.items() for i in range(len(ms))],
)
def test_names_each_known_mistake_in_korean(check, mistake):
    hint = in_korean(mistake.hint)
    assert hint != mistake.hint, f"no Korean for the hint {mistake.hint[:60]!r}: run `make translations`"
    with pytest.raises(AssertionError) as failure:
        getattr(ko, check.__name__)(mistake.impl)
    message = str(failure.value)
    assert hint in message
    assert not english_left(message), f"English left in the Korean message:\n{message}"


@pytest.mark.parametrize("check", list(ALL_CORRECT), ids=lambda c: c.__name__)
def test_a_stub_is_not_implemented_yet_in_korean(check):
    with pytest.raises(AssertionError) as failure:
        getattr(ko, check.__name__)(_stub_like(ALL_CORRECT[check][0]))
    message = str(failure.value)
    assert "NotImplementedError" in message and HANGUL.search(message) and not english_left(message), message


def test_an_unknown_mistake_and_a_wrong_type_are_explained_in_korean():
    def shifted(q, k, v, mask=None):
        out, weights = tl.scaled_dot_product_attention(q, k, v, mask)
        return out + 0.01, weights

    failures = []
    for check, candidate in (
        (ko.check_scaled_dot_product_attention, shifted),
        (ko.check_causal_mask, lambda T: None),
        (ko.check_causal_mask, lambda T: torch.ones(T, T + 1, dtype=torch.bool).tril()),
        (ko.check_layer_norm, lambda x: x),
        (ko.check_softmax, tl.LayerNorm),
    ):
        with pytest.raises(AssertionError) as failure:
            check(candidate)
        failures.append(str(failure.value))
    for message in failures:
        assert HANGUL.search(message) and not english_left(message), message
    assert "q (1, 3, 5), k (1, 4, 5), v (1, 4, 6)" in failures[0] and "0.01" in failures[0]


def test_the_learners_own_error_is_quoted_as_it_is():
    def broken(q, k, v, mask=None):
        raise ValueError("shapes do not match")

    with pytest.raises(AssertionError, match="ValueError.*: shapes do not match") as failure:
        ko.check_scaled_dot_product_attention(broken)
    assert HANGUL.search(str(failure.value)) and isinstance(failure.value.__cause__, ValueError)


def test_the_language_is_the_checkers_own():
    """A Korean check that fails leaves the English checkers English: the language lives only for the call."""
    with pytest.raises(AssertionError):
        ko.check_softmax(lambda x: x.exp())
    assert LANGUAGE.get() == "en"
    with pytest.raises(AssertionError, match="Your output matches exp"):
        checks.check_softmax(lambda x: x.exp())
