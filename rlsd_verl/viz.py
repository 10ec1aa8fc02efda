"""``python -m rlsd_verl.viz FILE.tokens.jsonl --out DIR``: token-credit heatmaps (the paper's Fig. 6).

Reads the records written with ``algorithm.rlsd.dump_tokens=N`` (:mod:`rlsd_verl.trainer.token_dump`)
and writes ``DIR/index.html`` (every record, hover a token for its Δ_t, w_t and Â_t) and one
``DIR/step_<k>.png`` per dumped step (at most ``--per-step`` responses each).

Colours: a response's hue is the direction the verifier gives it: **green = credit** (A > 0, a correct
response), **red = blame** (A < 0, a wrong one); grey when A = 0 (the whole group got the same reward).
A token's intensity is how much RLSD emphasises it over uniform GRPO, ``log w_t = sign(A)·Δ_t`` (0 → white,
``--scale`` nats or more → full colour): in a correct response the tokens the reference answer makes more
likely get the most credit, in a wrong one the tokens it makes less likely get the most blame. Tokens
the verifier read as the final answer are boxed. ``--color delta`` shows the raw Δ_t instead (green:
the teacher, who saw the reference answer, finds the token more likely; red: less likely). Steps without a
teacher pass (λ = 0, Δ_t = null) are shown by ``|Â_t|`` relative to ``|A|``.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
from collections import defaultdict

GREEN = (0.10, 0.62, 0.25)
RED = (0.85, 0.15, 0.15)
GREY = (0.45, 0.45, 0.45)
MODES = ("credit", "delta")


def token_intensity(record: dict, mode: str = "credit", scale: float = 2.0) -> list[tuple[tuple[float, float, float], float]]:
    """Per token ``(rgb, alpha)`` with ``alpha`` in [0, 1] (see the module docstring)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    n = len(record["token_ids"])
    a = float(record.get("advantage") or 0.0)
    delta = record.get("delta")
    out = []
    for t in range(n):
        if delta is None:  # no teacher pass: show |Â_t| / |A| around 1
            adv = record["token_advantage"][t]
            hue = GREEN if a > 0 else RED if a < 0 else GREY
            out.append((hue, min(1.0, abs(adv) / abs(a) * 0.5) if a else 0.0))
            continue
        d = float(delta[t])
        if mode == "delta":
            out.append((GREEN if d >= 0 else RED, min(1.0, abs(d) / scale)))
            continue
        if a == 0:
            out.append((GREY, min(1.0, abs(d) / scale)))
            continue
        emphasis = math.copysign(1.0, a) * d  # log w_t
        out.append((GREEN if a > 0 else RED, min(1.0, max(0.0, emphasis) / scale)))
    return out


def _verdict(record: dict) -> str:
    return "correct" if record.get("correct") else "wrong"


def _answer_text(record: dict) -> str:
    span = record.get("answer_span")
    return record["response"][span[0] : span[1]] if span else "(none)"


def _header(record: dict) -> str:
    return (
        f"step {record['step']} · {record['method']} · λ={record['lambda']:.3g} · {_verdict(record)} "
        f"(score {record['score']:.3g}) · answer {_answer_text(record)!s} · gold {record.get('ground_truth', '')} "
        f"· A={record['advantage']:+.3f}"
    )


def _display(token: str) -> str:
    return token.replace("\n", "↵").replace("\t", "→")


def _rgba(rgb, alpha: float) -> str:
    r, g, b = (int(255 * c) for c in rgb)
    return f"rgba({r},{g},{b},{alpha:.3f})"


def render_html(records: list[dict], mode: str = "credit", scale: float = 2.0, title: str = "token credit") -> str:
    """One self-contained HTML page with every record as a row of coloured tokens."""
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:1.5em;max-width:70em}"
        ".resp{margin:1em 0;padding:.6em;border:1px solid #ddd;border-radius:6px}"
        ".hdr{font-size:.85em;color:#333;margin-bottom:.4em}.prompt{font-size:.8em;color:#777;white-space:pre-wrap}"
        ".tok{font-family:monospace;white-space:pre-wrap;padding:1px 0;border-radius:2px}"
        ".ans{outline:2px solid #222}.ok{color:#1a7f37;font-weight:bold}.bad{color:#c62828;font-weight:bold}</style>",
        "</head><body>",
        f"<h2>{html.escape(title)}</h2>",
        "<p>" + html.escape(
            "Green = credit (A > 0, correct response), red = blame (A < 0, wrong response); intensity = "
            f"log w_t = sign(A)·Δ_t, full colour at {scale} nats. Boxed tokens: the answer the verifier read. "
            "Hover a token for Δ_t, w_t and Â_t."
            if mode == "credit" else
            f"Colour = Δ_t = log P_T − log P_S (green > 0, red < 0), full colour at |Δ_t| = {scale} nats. "
            "Boxed tokens: the answer the verifier read."
        ) + "</p>",
    ]
    for rec in records:
        cls = "ok" if rec.get("correct") else "bad"
        parts.append("<div class='resp'>")
        parts.append(f"<div class='hdr'><span class='{cls}'>{_verdict(rec)}</span> · {html.escape(_header(rec))}</div>")
        prompt = rec.get("prompt") or ""
        if prompt:
            parts.append(f"<div class='prompt'>{html.escape(prompt[-400:])}</div>")
        answer = set(rec.get("answer_tokens") or [])
        colours = token_intensity(rec, mode, scale)
        spans = []
        for t, token in enumerate(rec["tokens"]):
            rgb, alpha = colours[t]
            tip = f"token {t}: {token!r}"
            if rec.get("delta") is not None:
                tip += f" | Δ={rec['delta'][t]:+.3f} w={rec['weight'][t]:.3f}"
            if rec.get("teacher_log_prob") is not None:
                tip += f" | log P_T={rec['teacher_log_prob'][t]:.3f} log P_S={rec['student_log_prob'][t]:.3f}"
            tip += f" | Â={rec['token_advantage'][t]:+.4f}"
            klass = "tok ans" if t in answer else "tok"
            spans.append(
                f"<span class='{klass}' style='background:{_rgba(rgb, alpha)}' title='{html.escape(tip, quote=True)}'>"
                f"{html.escape(token)}</span>"
            )
        parts.append("<div>" + "".join(spans) + "</div></div>")
    parts.append("</body></html>")
    return "".join(parts)


def render_png(records: list[dict], path: str, mode: str = "credit", scale: float = 2.0, width_chars: int = 96,
               title: str = "") -> None:
    """Draw ``records`` as wrapped rows of coloured monospace tokens and save a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    # lay out: each record = header line + wrapped token lines + gap
    layout = []  # (kind, payload, line)
    line = 0
    for rec in records:
        layout.append(("header", rec, line))
        line += 1
        col = 0
        colours = token_intensity(rec, mode, scale)
        answer = set(rec.get("answer_tokens") or [])
        for t, token in enumerate(rec["tokens"]):
            text = _display(token)
            if col + len(text) > width_chars and col > 0:
                line += 1
                col = 0
            layout.append(("token", (text, colours[t], t in answer, col), line))
            col += len(text)
        line += 2
    n_lines = max(1, line)
    char_w, line_h = 1.0 / width_chars, 1.0 / n_lines
    fontsize = 9.0
    fig_w = width_chars * 0.602 * fontsize / 72 / 0.98  # DejaVu Sans Mono: 0.602 em per character
    fig_h = max(1.5, 0.24 * n_lines + (0.5 if title else 0.2))
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=110)
    ax = fig.add_axes((0.01, 0.01, 0.98, 0.98 - (0.4 / fig_h if title else 0.0)))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=11, y=0.995)
    font = dict(family="DejaVu Sans Mono", fontsize=fontsize)
    for kind, payload, ln in layout:
        y = 1.0 - (ln + 1) * line_h
        if kind == "header":
            rec = payload
            colour = GREEN if rec.get("correct") else RED
            ax.text(0, y + 0.2 * line_h, ("✓ " if rec.get("correct") else "✗ ") + _header(rec), color=colour,
                    fontsize=8.5, family="sans-serif", fontweight="bold", va="bottom")
            continue
        text, (rgb, alpha), is_answer, col = payload
        x = col * char_w
        ax.add_patch(Rectangle((x, y + 0.08 * line_h), len(text) * char_w, 0.84 * line_h, facecolor=(*rgb, alpha),
                               edgecolor="black" if is_answer else "none", linewidth=1.2 if is_answer else 0))
        ax.text(x, y + 0.5 * line_h, text, va="center", ha="left", **font)
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlsd_verl.viz", description=__doc__.splitlines()[0])
    parser.add_argument("log", help="a .tokens.jsonl file written with algorithm.rlsd.dump_tokens=N")
    parser.add_argument("--out", required=True, help="output folder (index.html, step_<k>.png)")
    parser.add_argument("--color", choices=MODES, default="credit", help="credit (default): log w_t; delta: raw Δ_t")
    parser.add_argument("--scale", type=float, default=2.0, help="nats at full colour (default 2.0)")
    parser.add_argument("--per-step", type=int, default=6, help="responses per PNG (default 6)")
    parser.add_argument("--steps", type=int, nargs="*", default=None, help="only these steps (default: all)")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.per_step < 1:
        parser.error("--scale must be > 0 and --per-step >= 1")

    from rlsd_verl.trainer.token_dump import read_records

    if not os.path.isfile(args.log):
        print(f"error: {args.log} does not exist; run the trainer with algorithm.rlsd.dump_tokens=N "
              "(it writes <logger root>/<project>/<experiment>.tokens.jsonl)", file=sys.stderr)
        return 2
    records = read_records(args.log)
    required = ("step", "tokens", "token_ids", "token_advantage", "advantage", "response")
    for i, rec in enumerate(records):
        missing = [k for k in required if k not in rec]
        if missing:
            print(f"error: {args.log}: record {i + 1} lacks {missing}; is this a token-credit file?", file=sys.stderr)
            return 2
    if args.steps:
        records = [r for r in records if r["step"] in set(args.steps)]
    if not records:
        print(f"error: {args.log} has no records{' for steps ' + str(args.steps) if args.steps else ''}", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    name = os.path.basename(args.log)
    index = os.path.join(args.out, "index.html")
    tmp = index + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(render_html(records, args.color, args.scale, title=f"token credit · {name}"))
    os.replace(tmp, index)
    by_step: dict[int, list[dict]] = defaultdict(list)
    for rec in records:
        by_step[rec["step"]].append(rec)
    written = [index]
    for step, recs in sorted(by_step.items()):
        chosen = _balanced(recs, args.per_step)
        png = os.path.join(args.out, f"step_{step}.png")
        tmp = os.path.join(args.out, f".step_{step}.tmp.png")
        render_png(chosen, tmp, args.color, args.scale, title=f"{name} · step {step} · "
                   + ("green = credit, red = blame, intensity = log w_t" if args.color == "credit" else "Δ_t"))
        os.replace(tmp, png)
        written.append(png)
    for path in written:
        print(path)
    return 0


def _balanced(records: list[dict], n: int) -> list[dict]:
    right = [r for r in records if r.get("correct")]
    wrong = [r for r in records if not r.get("correct")]
    out = []
    while len(out) < n and (right or wrong):
        for pool in (right, wrong):
            if pool and len(out) < n:
                out.append(pool.pop(0))
    return out


if __name__ == "__main__":
    sys.exit(main())
