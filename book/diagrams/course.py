"""The course map of the introduction: fifteen chapters in three parts."""

from diagrams.draw import INK, arrow, box, canvas, label
from transformer_lab.plotting import COLORS

PARTS = [
    ("Attention", ["1 Why attention", "2 Tokens", "3 Self-attention", "4 Multi-head", "5 Positions"], "query"),
    ("The model", ["6 The block", "7 Encoder", "8 Decoder", "9 Translator"], "value"),
    ("Beyond", ["10 Generating", "11 GPT", "12 ViT", "13 Text to image", "14 Hugging Face", "15 Scaling up"], "key"),
]


def course_path():
    fig, ax = canvas(10, 3.6)
    for row, (title, chapters, role) in enumerate(PARTS):
        y = 2.9 - row * 1.15
        label(ax, 0.1, y, title, ha="left", fontsize=11, fontweight="bold")
        for col, name in enumerate(chapters):
            x = 1.25 + col * 1.45
            box(ax, x, y - 0.35, 1.2, 0.7, name.replace(" ", "\n", 1), COLORS[role], fontsize=9)
            if col:
                arrow(ax, (x - 0.25, y), (x, y), INK)
    return fig


FIGURES = [course_path]
