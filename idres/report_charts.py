"""Building blocks of the HTML report: escaped HTML elements, and charts as PNG bytes.

The HTML helpers (:func:`table`, :func:`section`, :func:`p`, :func:`img`) escape every value with
:func:`html.escape`. Figures are built with :class:`matplotlib.figure.Figure` on an explicit
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`, inside each function: no pyplot, no global
backend switch, no state left behind. PNGs carry no software or date metadata, so the same data
gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
WIDTH, HEIGHT = 7.0, 3.4

CSS: Final = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
header{background:#232f3e;color:#fff;padding:1.2rem 2rem}header h1{margin:0 0 .3rem;font-size:1.5rem}
header p{margin:0;color:#d5dbe3;font-size:.9rem}
nav{background:#fff;border-bottom:1px solid #dde1e6;padding:.5rem 2rem;font-size:.9rem}
nav a{margin-right:1rem;color:#0b5cad;text-decoration:none}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:1.2rem 0;padding:.6rem 1.2rem 1rem}
h2{font-size:1.25rem;border-bottom:2px solid #ff9900;padding-bottom:.3rem}h3{font-size:1.05rem;margin-top:1.4rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #dde1e6;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;height:auto;display:block;margin:.5rem 0}
.warn{background:#fff4e5;border-left:4px solid #ff9900;padding:.5rem .8rem}
.bad{background:#fdecea;border-left:4px solid #d62728;padding:.5rem .8rem}
.ok{background:#e9f6ec;border-left:4px solid #2ca02c;padding:.5rem .8rem}
.muted{color:#5f6b7a;font-size:.85rem}code{font-size:.85em;word-break:break-all}
details{margin:.4rem 0}summary{cursor:pointer;font-weight:600}
section section{border:none;padding:0;margin:1.2rem 0 0}
"""


def fmt(value: Any) -> str:
    """A value as display text (thousands separators, 4 decimals, '—' for None).

    >>> fmt(1234), fmt(0.5), fmt(None), fmt(["a", "b"])
    ('1,234', '0.5000', '—', 'a, b')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.4f}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value)
    return str(value)


def esc(value: Any) -> str:
    """:func:`fmt` then :func:`html.escape`.

    >>> esc("<b>")
    '&lt;b&gt;'
    """
    return html.escape(fmt(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """An HTML table, every cell escaped; numbers right-aligned.

    >>> table(["a"], [[1]])
    '<table><tr><th>a</th></tr><tr><td class="n">1</td></tr></table>'
    """
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{esc(v)}</td>'
            if isinstance(v, int | float | np.number) and not isinstance(v, bool)
            else f"<td>{esc(v)}</td>"
            for v in row
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def img(data: bytes, alt: str) -> str:
    """An ``<img>`` with the PNG embedded as a data: URI."""
    return f'<img src="{data_uri(data)}" alt="{html.escape(alt)}">'


def section(sid: str, title: str, body: str) -> str:
    """A report section with an anchor id."""
    return f'<section id="{html.escape(sid)}"><h2>{html.escape(title)}</h2>{body}</section>'


def p(text: str, cls: str = "") -> str:
    """A paragraph of escaped text."""
    attr = f' class="{cls}"' if cls else ""
    return f"<p{attr}>{html.escape(text)}</p>"


def records(items: Iterable[Mapping[str, Any]], columns: Mapping[str, str]) -> str:
    """A table of dicts: `columns` maps each header to the key shown under it.

    >>> records([{"a": 1}], {"A": "a"})
    '<table><tr><th>A</th></tr><tr><td class="n">1</td></tr></table>'
    """
    return table(list(columns), ([item.get(k) for k in columns.values()] for item in items))


def details(title: str, body: str, *, opened: bool = False) -> str:
    """A collapsible block with an escaped title."""
    return f"<details{' open' if opened else ''}><summary>{html.escape(title)}</summary>{body}</details>"


def _figure(ncols: int = 1, *, height: float = HEIGHT) -> tuple[Figure, list[Axes]]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH if ncols == 1 else 10.0, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    return fig, list(axes)


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes (no metadata, so deterministic)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def data_uri(data: bytes) -> str:
    """A ``data:image/png;base64,...`` URI for PNG bytes.

    >>> data_uri(b"x")
    'data:image/png;base64,eA=='
    """
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def size_histogram(sizes: Mapping[str, Sequence[int] | np.ndarray]) -> bytes:
    """Group size distribution: groups per power-of-two size bin (2, 3–4, 5–8, …), log counts.

    >>> size_histogram({"match groups": [2, 2, 3, 40]})[:4]
    b'\\x89PNG'
    """
    fig, (ax,) = _figure()
    series = {k: np.asarray(v, dtype=np.int64) for k, v in sizes.items()}
    top = max((int(v.max()) for v in series.values() if v.size), default=2)
    upper = 2 ** np.arange(1, max(int(np.ceil(np.log2(top))), 1) + 1)  # bin k holds (2^(k-1), 2^k]
    x = np.arange(upper.size)
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        counts = np.bincount(np.searchsorted(upper, values, side="left"), minlength=upper.size)
        offset = (i - (len(series) - 1) / 2) * width
        color = COLORS[i % len(COLORS)]
        ax.bar(x + offset, counts, width=width, color=color, label=f"{label} ({values.size:,})")
    labels = ["2"] + [f"{lo + 1}–{hi}" for lo, hi in itertools.pairwise(upper.tolist())]
    ax.set_xticks(x, labels, rotation=45 if upper.size > 10 else 0)
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.5)
    ax.set_xlabel("profiles in the group")
    ax.set_ylabel("groups (log scale)")
    ax.legend(loc="upper right", frameon=False)
    return png(fig)


def level_bars(levels: Sequence[int], groups: Sequence[int], profiles: Sequence[int]) -> bytes:
    """Match groups and profiles per rule level (side by side bars).

    >>> level_bars([1, 2], [5, 1], [12, 3])[:4]
    b'\\x89PNG'
    """
    fig, (ax,) = _figure()
    x = np.arange(len(levels))
    ax.bar(x - 0.2, groups, width=0.4, color=COLORS[0], label="match groups")
    ax.bar(x + 0.2, profiles, width=0.4, color=COLORS[2], label="profiles")
    ax.set_xticks(x, [f"L{lv}" for lv in levels])
    ax.set_xlabel("rule level of the group (the lowest level that connects it)")
    ax.set_ylabel("count")
    ax.legend(frameon=False)
    return png(fig)


def threshold_lines(
    panels: Sequence[tuple[str, Mapping[str, Sequence[float]], Sequence[tuple[float, str]]]],
    *,
    ylabel: str = "",
    log: bool = False,
) -> bytes:
    """One panel per (title, {series: values over 'threshold'}, [(x, mark label)]).

    >>> threshold_lines([("link", {"threshold": [0, 1], "f1": [0.2, 0.5]}, [(0.5, "best")])])[:4]
    b'\\x89PNG'
    """
    fig, axes = _figure(len(panels))
    for ax, (title, series, marks) in zip(axes, panels, strict=True):
        x = np.asarray(series["threshold"], dtype=np.float64)
        for i, (name, values) in enumerate((k, v) for k, v in series.items() if k != "threshold"):
            ax.plot(x, values, color=COLORS[i % len(COLORS)], linewidth=2, label=name)
        for j, (at, label) in enumerate(marks):
            ax.axvline(at, color="#555555", linestyle=":" if j else "--", linewidth=1)
            ax.annotate(
                f"{label} {at:.2f}",
                (at, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(3, -12 - 12 * j),
                textcoords="offset points",
                fontsize=8,
            )
        if log:
            ax.set_yscale("symlog")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("threshold")
        ax.set_xlim(0, 1)
        ax.set_ylabel(ylabel)
        ax.legend(frameon=False, fontsize=8, loc="lower left")
    return png(fig)


def score_histogram(true_scores: np.ndarray, false_scores: np.ndarray, *, bins: int = 50) -> bytes:
    """ConfidenceScore histograms of true pairs (same entity) and false pairs, log counts.

    >>> score_histogram(np.array([0.9, 0.95]), np.array([0.1, 0.4]))[:4]
    b'\\x89PNG'
    """
    fig, (ax,) = _figure()
    edges = np.linspace(0.0, 1.0, bins + 1).tolist()
    for values, label, color in (
        (false_scores, "false pairs (different entities)", COLORS[1]),
        (true_scores, "true pairs (same entity)", COLORS[0]),
    ):
        if values.size:
            ax.hist(
                values,
                bins=edges,
                alpha=0.55,
                color=color,
                label=f"{label}: {values.size:,}",
            )
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("pair ConfidenceScore")
    ax.set_ylabel("scored pairs")
    ax.legend(frameon=False, fontsize=8)
    return png(fig)


def level_metrics(levels: Sequence[dict[str, Any]]) -> bytes:
    """Pairwise precision / recall / F1 of the match groups of levels ≤ L, for each L.

    >>> level_metrics([{"level": 1, "precision": 1.0, "recall": 0.5, "f1": 0.67}])[:4]
    b'\\x89PNG'
    """
    fig, (ax,) = _figure()
    x = [lv["level"] for lv in levels]
    for i, key in enumerate(("precision", "recall", "f1")):
        ax.plot(x, [lv[key] for lv in levels], marker="o", color=COLORS[i], label=key)
    ax.set_xticks(x, [f"≤ L{v}" for v in x])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("match groups from the links of levels ≤ L")
    ax.legend(frameon=False)
    return png(fig)


__all__ = [
    "CSS",
    "data_uri",
    "details",
    "esc",
    "fmt",
    "img",
    "level_bars",
    "level_metrics",
    "p",
    "png",
    "records",
    "score_histogram",
    "section",
    "size_histogram",
    "table",
    "threshold_lines",
]
