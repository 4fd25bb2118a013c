"""Reference and current distributions of one feature, drawn over each other as inline SVG.

Both come from the drift result's stored ``details["bins"]`` (shares of each side per bin, the
same bins on both sides), so the page never recomputes a statistic. Numeric columns become two
overlaid histograms on the reference's quantile bins; categorical ones grouped horizontal bars,
the ``top`` categories by their larger share and everything else folded into ``(other)`` so a
column with 10,000 categories still draws a readable chart. Bars carry their figures in a
``<title>`` (a hover tooltip, and text for screen readers); category names are escaped.

>>> top_categories(["a", "b", "c"], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7], top=2)
(['c', 'a', '(other)'], [0.2, 0.5, 0.3], [0.7, 0.1, 0.2])
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from ..model import MISSING_LABEL, OTHER_LABEL
from .charts import finite, num, scale, svg_open

__all__ = ["distribution", "histogram", "category_bars", "top_categories"]


def _shares(values: Sequence[object], n: int) -> list[float]:
    out = [finite(v) or 0.0 for v in list(values)[:n]]
    return out + [0.0] * (n - len(out))


def _pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def _short(label: str, limit: int) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def top_categories(labels: Sequence[str], ref: Sequence[float], cur: Sequence[float], *,
                   top: int) -> tuple[list[str], list[float], list[float]]:
    """The ``top`` categories by ``max(ref, cur)`` share, largest first, the rest summed into
    ``(other)`` (after any ``(other)`` already there) and ``(missing)`` kept last.
    Fewer than ``top + 1`` ordinary categories come back unchanged."""
    special = {OTHER_LABEL, MISSING_LABEL}
    rows = [(str(label), r, c) for label, r, c in zip(labels, ref, cur)]
    plain = [row for row in rows if row[0] not in special]
    if len(plain) <= top:
        return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]
    plain.sort(key=lambda row: -max(row[1], row[2]))
    kept, rest = plain[:top], plain[top:]
    other_ref = sum(r[1] for r in rest) + sum(r[1] for r in rows if r[0] == OTHER_LABEL)
    other_cur = sum(r[2] for r in rest) + sum(r[2] for r in rows if r[0] == OTHER_LABEL)
    kept.append((OTHER_LABEL, other_ref, other_cur))
    kept.extend(r for r in rows if r[0] == MISSING_LABEL)
    return [r[0] for r in kept], [round(r[1], 12) for r in kept], [round(r[2], 12) for r in kept]


def _bin_title(label: str, ref: float, cur: float) -> str:
    return f"<title>{escape(label)}: reference {_pct(ref)}, current {_pct(cur)}</title>"


def histogram(labels: Sequence[str], ref: Sequence[float], cur: Sequence[float], *, title: str,
              width: float = 480, height: float = 180) -> Markup:
    """Overlaid histograms: per bin a reference bar and a current bar on the same x band, each
    translucent (CSS), the current one outlined so the two differ by more than colour."""
    n = len(labels)
    left, right, top, bottom = 8.0, width - 8.0, 8.0, height - 30.0
    peak = max([*ref, *cur, 0.0]) or 1.0
    band = (right - left) / max(n, 1)
    parts = [svg_open("dist numeric", width, height, title),
             f'<line class="axis" x1="{num(left)}" x2="{num(right)}" y1="{num(bottom)}" y2="{num(bottom)}"/>']
    for i, label in enumerate(labels):
        x0 = left + i * band + 1
        parts.append(f'<g class="bin">{_bin_title(label, ref[i], cur[i])}')
        for side, share in (("ref", ref[i]), ("cur", cur[i])):
            y = scale(share, 0, peak, bottom, top)
            parts.append(f'<rect class="bar {side}" x="{num(x0)}" y="{num(y)}" width="{num(band - 2)}" '
                         f'height="{num(bottom - y)}"/>')
        parts.append("</g>")
    step = max(1, -(-n // 4))  # at most about four labels under the axis
    for i in range(0, n, step):
        cx = left + (i + 0.5) * band
        parts.append(f'<text class="tick" x="{num(cx)}" y="{num(height - 12)}" text-anchor="middle">'
                     f"{escape(_short(str(labels[i]), 18))}</text>")
    parts.append("</svg>")
    return Markup("".join(parts))


def category_bars(labels: Sequence[str], ref: Sequence[float], cur: Sequence[float], *, title: str,
                  width: float = 480) -> Markup:
    """Grouped horizontal bars, one row per category (reference above current): horizontal so
    long category names stay readable on a phone."""
    row_h, label_w, pad = 24.0, 140.0, 6.0
    height = pad * 2 + row_h * len(labels)
    right = width - 56.0
    peak = max([*ref, *cur, 0.0]) or 1.0
    parts = [svg_open("dist categorical", width, height, title)]
    for i, label in enumerate(labels):
        y0 = pad + i * row_h
        parts.append(f'<g class="cat">{_bin_title(label, ref[i], cur[i])}'
                     f'<text class="label" x="{num(label_w - 6)}" y="{num(y0 + row_h / 2)}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(_short(str(label), 22))}</text>')
        for j, (side, share) in enumerate((("ref", ref[i]), ("cur", cur[i]))):
            w = scale(share, 0, peak, 0, right - label_w)
            parts.append(f'<rect class="bar {side}" x="{num(label_w)}" y="{num(y0 + 3 + j * 9)}" '
                         f'width="{num(w)}" height="8"/>')
        parts.append(f'<text class="tick" x="{num(width - 4)}" y="{num(y0 + row_h / 2)}" text-anchor="end" '
                     f'dominant-baseline="middle">{escape(_pct(cur[i]))}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def distribution(bins: object, *, kind: str, title: str, top: int = 10) -> Markup | None:
    """The chart for a drift result's ``details["bins"]`` (``{"labels", "ref", "cur"}``), or
    ``None`` when the details hold no usable bins (an error or insufficient-data result)."""
    if not isinstance(bins, dict):
        return None
    labels = bins.get("labels")
    if not isinstance(labels, list) or not labels:
        return None
    names = [str(label) for label in labels]
    ref = _shares(bins.get("ref") or [], len(names))
    cur = _shares(bins.get("cur") or [], len(names))
    if kind == "numeric":
        return histogram(names, ref, cur, title=title)
    names, ref, cur = top_categories(names, ref, cur, top=top)
    return category_bars(names, ref, cur, title=title)
