"""Chapter 13, text to image: the prompt's characters, a separator and the image's 64 pixel tokens make one
stream that a causal Transformer models left to right; generation samples the pixel tokens one by one."""

from diagrams.draw import INK, arrow, box, canvas, label, matrix, tint
from transformer_lab import digits
from transformer_lab import text_to_image as t2i
from transformer_lab.plotting import COLORS

K, PROMPT, MAX_TEXT = 4, "a seven", 20  # the chapter's levels, one of its prompts, its prompt length


def _sevens():
    """The first two sevens of the chapter's training images: as stored (17 levels) and as K-level tokens."""
    train = digits.load_digits_split(seed=0)["train"]
    rows = [i for i in range(len(train)) if int(train.labels[i]) == 7][:2]
    images = train.images[rows]  # (2, 1, 8, 8)
    return images[:, 0].numpy(), t2i.image_to_tokens(images, K).numpy()  # (2, 8, 8), (2, 64)


def _token(ax, x, y, text, *, w=0.32, h=0.3, role="ink", fill=0.1, level=None, fontsize=8.5, alpha=1.0):
    """One token of the stream centred at (x, y); a pixel token is shaded by its level, like the pixel."""
    color = COLORS[role]
    if level is not None:
        fill = 0.08 + 0.8 * level / (K - 1)
    box(
        ax,
        x - w / 2,
        y - h / 2,
        w,
        h,
        text,
        color,
        fill=fill,
        fontsize=fontsize,
        text_color="white" if fill > 0.6 else INK,
    )
    if alpha < 1:
        ax.patches[-1].set_alpha(alpha)


def _layout(items, x, gap=0.05):
    """Centres for items of the given widths, left to right from x."""
    centres = []
    for w in items:
        centres.append(x + w / 2)
        x += w + gap
    return centres


def _brace(ax, x0, x1, y, text, color=INK, *, up=False):
    """A bracket under (or over) x0..x1 with its text."""
    d = 0.08 if up else -0.08
    ax.plot([x0, x0, x1, x1], [y, y + d, y + d, y], color=color, lw=1.0)
    label(
        ax, (x0 + x1) / 2, y + d + (0.16 if up else -0.17), text, fontsize=8, color=color, va="bottom" if up else "top"
    )


def ch13_token_stream():
    images, tokens = _sevens()
    image, stream_pixels = images[0], tokens[0]
    fig, ax = canvas(8.8, 6.6)
    # the stream: <pad> ... <pad>, the prompt's characters, <sep>, p_0 ... p_7, ..., p_63
    n_pad = MAX_TEXT - len(PROMPT)
    shown_pixels = list(range(8)) + [None, 63]  # None: the elided pixels
    items = [("<pad>", "mask", 0.48), ("…", None, 0.22), ("<pad>", "mask", 0.48)]
    items += [("␣" if c == " " else c, "ink", 0.3) for c in PROMPT]
    items += [("<sep>", "ink", 0.5)]
    items += [("…", None, 0.22) if i is None else (str(stream_pixels[i]), i, 0.3) for i in shown_pixels]
    xs = _layout([w for *_, w in items], 0.35)
    y = {"stream": 4.0, "gpt": 3.1, "out": 2.55}
    first_pixel = 3 + len(PROMPT) + 1
    sep = first_pixel - 1
    label(ax, 0.35, 6.35, "training: one stream per image, with a fresh random prompt", ha="left", fontweight="bold")
    label(ax, 0.35, 6.02, f"the prompt '{PROMPT}': one token per character", ha="left", fontsize=8.5)
    for (text, kind, w), x in zip(items, xs):
        if kind is None:
            label(ax, x, y["stream"], text)
            continue
        if isinstance(kind, int):
            _token(ax, x, y["stream"], text, w=w, level=int(text))
            label(ax, x, y["stream"] + 0.27, f"$p_{{{kind}}}$", fontsize=7.5)
        else:
            _token(
                ax,
                x,
                y["stream"],
                text,
                w=w,
                role=kind,
                fill=0.25 if text == "<sep>" else 0.08,
                fontsize=7.5 if text.startswith("<") else 8.5,
            )
        arrow(ax, (x, y["stream"] - 0.17), (x, y["gpt"] + 0.45), INK, lw=0.7)
    by = y["stream"] + 0.45
    _brace(
        ax,
        xs[0] - 0.24,
        xs[sep - 1] + 0.15,
        by,
        f"prompt: {MAX_TEXT} characters, right-aligned\n({n_pad} × <pad>, then '{PROMPT}')",
        up=True,
    )
    _brace(ax, xs[sep] - 0.25, xs[sep] + 0.25, by, "separator", up=True)
    _brace(ax, xs[first_pixel] - 0.15, xs[-1] + 0.15, by, "image: 64 pixel tokens", up=True)
    # one causal Transformer over the whole stream
    gx0, gx1 = xs[0] - 0.3, xs[-1] + 0.3
    box(
        ax,
        gx0,
        y["gpt"],
        gx1 - gx0,
        0.45,
        "one causal Transformer (the GPT of chapter 11): each position sees only itself and what comes before",
        COLORS["query"],
        fill=0.15,
        fontsize=8.5,
    )
    # what each position predicts: nothing scored at the prompt, the next pixel from <sep> on
    for j, x in enumerate(xs):
        if items[j][1] is None or j < sep:
            continue
        target = 0 if j == sep else shown_pixels[j - first_pixel] + 1
        if target > 63:  # the last pixel predicts nothing: it is never fed
            continue
        arrow(ax, (x, y["gpt"]), (x, y["out"] + 0.15), COLORS["output"], lw=0.8)
        box(ax, x - 0.15, y["out"] - 0.15, 0.3, 0.3, f"$p_{{{target}}}$", COLORS["output"], fill=0.3, fontsize=7.5)
    label(
        ax, (xs[0] + xs[sep - 1]) / 2, y["out"], "no loss at the prompt: it is random", fontsize=8, color=COLORS["mask"]
    )
    label(
        ax,
        (xs[sep] + xs[-1]) / 2,
        y["out"] - 0.38,
        "the loss: the next pixel at every position from <sep> on ($K$-way image_head)",
        fontsize=8,
        color=COLORS["output"],
    )
    # the image tokenizer, above the pixels
    cell, gcell, top = 0.12, 0.15, 6.45
    ox = 5.0
    matrix(ax, ox, top, image, cell=cell, color=INK, vmax=1.0, edge=tint(INK, 0.15))
    label(ax, ox + 4 * cell, top - 8 * cell - 0.14, "as stored: 17 grey levels", fontsize=7.5)
    tx = 7.25
    mid = top - 4 * gcell
    arrow(ax, (ox + 8 * cell + 0.08, mid), (tx - 0.08, mid), INK)
    label(ax, (ox + 8 * cell + tx) / 2, mid + 0.2, "image_to_tokens", fontsize=7.5, family="monospace")
    label(ax, (ox + 8 * cell + tx) / 2, mid - 0.25, f"nearest of\n$K = {K}$ levels", fontsize=7.5)
    grid = stream_pixels.reshape(8, 8)
    matrix(
        ax,
        tx,
        top,
        grid,
        cell=gcell,
        color=INK,
        vmax=(K - 1) / 0.88,
        edge=tint(INK, 0.15),
        text=[[str(v) for v in row] for row in grid],
        fontsize=6.5,
    )
    gx, gy = tx + 4 * gcell, top - 8 * gcell
    arrow(ax, (gx, gy - 0.03), ((xs[first_pixel] + xs[-1]) / 2 + 0.3, by + 0.4), INK)
    label(ax, gx + 0.05, (gy + by + 0.35) / 2, "read row\nby row", ha="left", fontsize=7.5)
    # generation: the prompt is given, the pixels are sampled one at a time
    gy0 = 0.8
    label(
        ax,
        0.35,
        1.65,
        "generation: the prompt and <sep> are given; the pixels are sampled one by one",
        ha="left",
        fontweight="bold",
    )
    gen = [(f"'{PROMPT}'", "ink", 0.9), ("<sep>", "ink", 0.5)]
    gen += [(str(v), i, 0.3) for i, v in enumerate(tokens[1][:3])] + [("?", "next", 0.3)]
    gxs = _layout([w for *_, w in gen], 0.35, gap=0.25)
    for j, ((text, kind, w), x) in enumerate(zip(gen, gxs)):
        if isinstance(kind, int):
            _token(ax, x, gy0, text, w=w, level=int(text))
            label(ax, x, gy0 - 0.27, f"$p_{{{kind}}}$", fontsize=7.5)
        elif kind == "next":
            _token(ax, x, gy0, "?", w=w, role="output", fill=0.3)
            label(ax, x, gy0 - 0.27, f"$p_{{{j - 2}}}$", fontsize=7.5)
        else:
            _token(ax, x, gy0, text, w=w, role=kind, fill=0.25 if text == "<sep>" else 0.08, fontsize=8)
        if 1 <= j < len(gen) - 1:  # each output is sampled and fed back as the next input
            arrow(ax, (x + 0.05, gy0 + 0.17), (gxs[j + 1] - 0.05, gy0 + 0.17), COLORS["output"], rad=-0.6, lw=1.0)
    label(ax, gxs[0], gy0 - 0.27, f"{MAX_TEXT} tokens", fontsize=7.5)
    label(
        ax,
        gxs[-1] + 0.3,
        gy0,
        "sample one of the $K = 4$ levels (temperature,\ntop-k), append, repeat: 64 steps, with a KV cache",
        ha="left",
        fontsize=8,
    )
    ix = 7.55
    arrow(ax, (ix - 0.35, gy0), (ix - 0.05, gy0), INK)
    decoded = tokens[1].reshape(8, 8) / (K - 1)
    matrix(ax, ix, gy0 + 0.44, decoded, cell=0.11, color=INK, vmax=1.0, edge=tint(INK, 0.15))
    label(ax, ix + 0.44, gy0 - 0.6, "tokens_to_image", fontsize=7.5, family="monospace")
    return fig


FIGURES = [ch13_token_stream]
