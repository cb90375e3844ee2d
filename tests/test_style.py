"""The house style that a reader of the package relies on, checked: one vocabulary for sizes, keyword-only
arguments where several integers meet, no module reaching into another's private names."""

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest
from torch import nn

import transformer_lab as tl
from transformer_lab.text_to_image import TextToImage, TextToImageConfig

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [tl.GPTConfig, tl.TransformerConfig, tl.ViTConfig, TextToImageConfig]
SIZE_WORDS = {"n_layers", "n_heads", "n_decoder_layers", "n_classes", "d_model", "d_ff", "max_len", "block_size"}


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.__name__)
def test_configs_share_one_vocabulary(config):
    names = {f.name for f in dataclasses.fields(config)}
    counts = {n for n in names if n.startswith(("n_", "d_"))}
    assert counts <= SIZE_WORDS, f"{config.__name__}: {sorted(counts - SIZE_WORDS)} is not in the package's vocabulary"
    assert not names & {"n_layer", "n_head", "position", "tie_weights"}


def modules_with_integer_arguments():
    for name in dir(tl):
        obj = getattr(tl, name)
        if inspect.isclass(obj) and issubclass(obj, nn.Module) and obj.__module__.startswith("transformer_lab"):
            yield obj
    yield TextToImage


@pytest.mark.parametrize("cls", list(modules_with_integer_arguments()), ids=lambda c: c.__name__)
def test_constructors_take_several_integers_by_keyword_only(cls):
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    integers = [p for p in params if p.annotation in (int, "int")]
    if len(integers) >= 2:
        positional = [p.name for p in integers if p.kind is not p.KEYWORD_ONLY]
        assert not positional, f"{cls.__name__} takes {positional} positionally"


def python_files():
    return sorted(
        p for folder in ("transformer_lab", "tests", "benchmarks", "examples") for p in (ROOT / folder).rglob("*.py")
    )


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_modules_private_names(path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("transformer_lab")):
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            assert not private, f"{path.name}:{node.lineno} imports {private} from {node.module}"
