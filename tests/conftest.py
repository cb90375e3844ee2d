import matplotlib

matplotlib.use("Agg")

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def perturb_(module: torch.nn.Module, scale: float = 0.5, seed: int = 1) -> torch.nn.Module:
    """Move every parameter away from its default initialisation.

    Default inits (LayerNorm at weight 1 / bias 0, tiny projections) hide bugs such as swapped norms
    or the wrong GELU variant; after this, such a bug changes the outputs visibly.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module
