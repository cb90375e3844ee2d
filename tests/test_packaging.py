"""What `pip install` puts on a learner's machine (Colab installs the package from its repository): every
file the package reads beside its modules."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "transformer_lab"


def test_every_data_file_of_the_package_is_installed():
    with (ROOT / "pyproject.toml").open("rb") as file:
        installed = tomllib.load(file)["tool"]["setuptools"]["package-data"]["transformer_lab"]
    data = [
        path.relative_to(PACKAGE)
        for path in PACKAGE.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    ]
    assert any(path.suffix == ".mo" for path in data)  # the Korean checkers' catalogue
    left_out = [str(path) for path in data if not any(path.match(pattern) for pattern in installed)]
    assert not left_out, f"pyproject.toml's package-data leaves out {left_out}: an installed package lacks them"
