"""Chapter 12, the Vision Transformer: an 8x8 digit cut into four 4x4 patches, each flattened and mapped to a
D-wide token, a class token in front, positions added, the encoder, and the class token's output classified."""

from diagrams.draw import INK, arrow, box, canvas, chip, label, matrix, tint, vector
from transformer_lab import digits
from transformer_lab.plotting import COLORS

IMAGE, P, D = 8, 4, 64  # the chapter's first ViT: 8x8 images, 4x4 patches, D = 64
N = (IMAGE // P) ** 2  # 4 patches


def _first_training_image():
    """The chapter's first training image (its first plot shows it) and its label."""
    train = digits.load_digits_split(seed=0)["train"]
    return train.images[0, 0].numpy(), int(train.labels[0])


def _pixels(ax, x, y, values, cell):
    """A grey-scale image with its top-left corner at (x, y), 0 white and 1 black."""
    matrix(ax, x, y, values, cell=cell, color=INK, vmax=1.0, edge=tint(INK, 0.15))


def ch12_patches():
    image, digit = _first_training_image()
    patches = [image[r * P : (r + 1) * P, c * P : (c + 1) * P] for r in range(IMAGE // P) for c in range(IMAGE // P)]
    fig, ax = canvas(8.6, 5.65)
    xs = [2.75 + j * 1.2 for j in range(N + 1)]  # column 0: the class token; 1..N: the patches
    y = {"patch": 1.05, "flat": 1.75, "proj": 2.15, "token": 2.85, "pos": 3.3, "enc": 3.75, "out": 4.65, "head": 5.3}
    # the image, its patch grid drawn thick
    cell = 0.13
    ix, iy = 0.35, 1.42
    _pixels(ax, ix, iy, image, cell)
    for k in range(IMAGE // P + 1):
        ax.plot([ix + k * P * cell] * 2, [iy, iy - IMAGE * cell], color=INK, lw=1.8)
        ax.plot([ix, ix + IMAGE * cell], [iy - k * P * cell] * 2, color=INK, lw=1.8)
    for n in range(N):  # numbered in reading order, beside the image
        r, c = divmod(n, IMAGE // P)
        label(
            ax,
            ix - 0.12 if c == 0 else ix + IMAGE * cell + 0.12,
            iy - (r + 0.5) * P * cell,
            str(n),
            fontsize=8.5,
            fontweight="bold",
        )
    label(ax, ix + IMAGE * cell / 2, iy - IMAGE * cell - 0.2, f"image {IMAGE}×{IMAGE}, a '{digit}'", fontsize=8)
    arrow(ax, (ix + IMAGE * cell + 0.25, y["patch"]), (xs[1] - 0.4, y["patch"]), INK)
    cut = f"cut into\n$N = ({IMAGE}/{P})^2 = {N}$ patches"
    label(ax, (ix + IMAGE * cell + xs[1] - 0.15) / 2, y["patch"] + 0.27, cut, fontsize=8)
    # each patch: P x P pixels, flattened to P^2 numbers, mapped to D numbers by one shared linear layer
    pc = 0.1
    for n, (x, patch) in enumerate(zip(xs[1:], patches)):
        _pixels(ax, x - P * pc / 2, y["patch"] + P * pc / 2, patch, pc)
        label(ax, x, y["patch"] - P * pc / 2 - 0.14, f"patch {n}", fontsize=7.5)
        arrow(ax, (x, y["patch"] + P * pc / 2 + 0.02), (x, y["flat"] - 0.02), INK, lw=0.8)
        flat = patch.reshape(1, -1)
        _pixels(ax, x - 16 * 0.06 / 2, y["flat"] + 0.09, flat, 0.06)
        arrow(ax, (x, y["flat"] + 0.11), (x, y["proj"]), INK, lw=0.8)
        arrow(ax, (x, y["proj"] + 0.3), (x, y["token"] - 0.08), INK, lw=0.8)
        vector(ax, x - 0.48, y["token"] - 0.08, 8, COLORS["embedding"], cell=0.12, fill=0.45)
    box(
        ax,
        xs[1] - 0.55,
        y["proj"],
        xs[-1] - xs[1] + 1.1,
        0.3,
        f"one shared linear map, ${P * P} \\to D = {D}$  (PatchEmbedding)",
        COLORS["embedding"],
        fill=0.2,
        fontsize=8.5,
    )
    # the class token, learned, the same for every image
    vector(ax, xs[0] - 0.48, y["token"] - 0.08, 8, COLORS["embedding"], cell=0.12, fill=0.85)
    label(ax, xs[0], y["token"] - 0.3, "class token\n(learned)", fontsize=8, va="top")
    # positions, then the encoder
    for i, x in enumerate(xs):
        chip(ax, x, y["pos"], f"$+\\,p_{i}$", COLORS["embedding"], w=0.5, h=0.24, fill=0.25, fontsize=8.5)
        arrow(ax, (x, y["token"] + 0.06), (x, y["pos"] - 0.12), INK, lw=0.8)
        arrow(ax, (x, y["pos"] + 0.12), (x, y["enc"]), INK, lw=0.8)
    box(
        ax,
        xs[0] - 0.55,
        y["enc"],
        xs[-1] - xs[0] + 1.1,
        0.45,
        "encoder of chapter 7: pre-LN, n_layers = 2, $H = 4$, final LayerNorm",
        INK,
        fill=0.08,
        fontsize=8.5,
    )
    # outputs: only the class token's is classified
    for i, x in enumerate(xs):
        used = i == 0
        arrow(ax, (x, y["enc"] + 0.45), (x, y["out"] - 0.08), INK if used else COLORS["mask"], lw=0.8)
        vector(
            ax,
            x - 0.48,
            y["out"] - 0.08,
            8,
            COLORS["output"] if used else COLORS["mask"],
            cell=0.12,
            fill=0.5 if used else 0.12,
        )
    label(
        ax,
        (xs[1] + xs[-1]) / 2,
        y["out"] + 0.3,
        "the patches' outputs: not used by the head",
        fontsize=8,
        color=COLORS["mask"],
    )
    arrow(ax, (xs[0], y["out"] + 0.1), (xs[0], y["head"] - 0.18), COLORS["output"])
    box(ax, xs[0] - 0.55, y["head"] - 0.18, 1.1, 0.36, "head", COLORS["output"], fill=0.3)
    arrow(ax, (xs[0] + 0.58, y["head"]), (xs[0] + 0.95, y["head"]), COLORS["output"])
    label(
        ax,
        xs[0] + 1.0,
        y["head"],
        f"10 scores, one per digit; the largest: '{digit}'",
        ha="left",
        color=COLORS["output"],
    )
    # row labels
    rows = [
        ("patch", f"patches, ${P} \\times {P}$ pixels"),
        ("flat", f"flattened row by row:\n${P * P}$ numbers each"),
        ("token", f"tokens, $D = {D}$ each"),
        ("pos", "learned positions"),
        ("enc", ""),
        ("out", "outputs"),
    ]
    for key, text in rows:
        if text and key != "patch":
            label(ax, 0.1, y[key], text, ha="left", color=COLORS["embedding"] if key in ("token", "pos") else INK)
    label(ax, 0.1, y["enc"] + 0.22, f"a sequence of\n$1 + N = {N + 1}$ tokens", ha="left")
    return fig


FIGURES = [ch12_patches]
