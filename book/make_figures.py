"""Draw the book's own figures (not the notebooks'): python book/make_figures.py"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

HERE = Path(__file__).parent
PARTS = [
    ("Attention", ["1 Why attention", "2 Tokens", "3 Self-attention", "4 Multi-head", "5 Positions"], "#dbe9f6"),
    ("The model", ["6 The block", "7 Encoder", "8 Decoder", "9 Translator"], "#e3f1dc"),
    (
        "Beyond",
        ["10 Generating", "11 GPT", "12 ViT", "13 Text to image", "14 Hugging Face", "15 Scaling up"],
        "#f8e6d2",
    ),
]


def course_path() -> None:
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=120)
    ax.set_xlim(0, 6.2)
    ax.set_ylim(-0.6, 3.2)
    ax.axis("off")
    for row, (title, chapters, colour) in enumerate(PARTS):
        y = 2.5 - row * 1.2
        ax.text(0.05, y, title, fontsize=11, fontweight="bold", va="center")
        for col, name in enumerate(chapters):
            x = 1.0 + col * 0.86
            ax.add_patch(FancyBboxPatch((x, y - 0.28), 0.78, 0.56, boxstyle="round,pad=0.02", fc=colour, ec="#555"))
            ax.text(x + 0.39, y, name.replace(" ", "\n", 1), ha="center", va="center", fontsize=8.5)
            if col:
                ax.annotate("", (x, y), (x - 0.08, y), arrowprops=dict(arrowstyle="->", color="#555"))
    fig.tight_layout()
    fig.savefig(HERE / "figures" / "course_path.png")


if __name__ == "__main__":
    course_path()
