"""Small SVG charts for the stats page, drawn by hand (a few bars and a line need no charting library, and the
page stays readable without JavaScript). Each chart is a <figure> with its numbers in a table under it, for screen
readers and for anyone who wants the figures. Every label is escaped."""

from __future__ import annotations

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 220
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 36, 44, 12
MAX_BAR = 40  # a few months of data should not look like a wall
PALETTE = ["#2f6db5", "#d9822b", "#3c9a5f", "#b5475a", "#7a5ab5", "#8a7a2f", "#2f9aa3", "#a35a2f"]


def _figure(label: str, svg: str, table: str) -> Markup:
    return Markup(
        f'<figure class="chart"><figcaption>{escape(label)}</figcaption>{svg}'
        f"<details><summary>The figures</summary>{table}</details></figure>"
    )


def _svg(label: str, body: str) -> str:
    return (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="xMidYMid meet">{body}</svg>'
    )


def _axis(top: float) -> str:
    base = HEIGHT - PAD_BOTTOM
    return (
        f'<line x1="{PAD_LEFT}" y1="{base}" x2="{WIDTH}" y2="{base}" class="axis"/>'
        f'<text x="{PAD_LEFT - 6}" y="{PAD_TOP + 4}" text-anchor="end" class="tick">{escape(_num(top))}</text>'
        f'<text x="{PAD_LEFT - 6}" y="{base}" text-anchor="end" class="tick">0</text>'
    )


def _num(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _labels(labels: list[str], step: float) -> str:
    every = max(1, int(len(labels) / (WIDTH / 70)) + 1)  # thin the labels so they never overlap
    out = []
    for i, text in enumerate(labels):
        if i % every == 0:
            x = PAD_LEFT + step * (i + 0.5)
            out.append(
                f'<text x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" text-anchor="middle" class="tick">{escape(text)}</text>'
            )
    return "".join(out)


def _empty(label: str) -> Markup:
    return Markup(f'<figure class="chart"><figcaption>{escape(label)}</figcaption><p>No data yet.</p></figure>')


def bars(data: list[tuple[str, int]], *, label: str, unit: str) -> Markup:
    if not data:
        return _empty(label)
    top = max(v for _, v in data) or 1
    step = (WIDTH - PAD_LEFT) / len(data)
    span = HEIGHT - PAD_BOTTOM - PAD_TOP
    body = [_axis(top)]
    for i, (name, value) in enumerate(data):
        h = span * value / top
        w = min(step * 0.7, MAX_BAR)
        x = PAD_LEFT + step * (i + 0.5) - w / 2
        body.append(
            f'<rect x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
            f'fill="{PALETTE[0]}"><title>{escape(name)}: {value} {escape(unit)}</title></rect>'
        )
    body.append(_labels([n for n, _ in data], step))
    rows = "".join(f"<tr><td>{escape(n)}</td><td>{v}</td></tr>" for n, v in data)
    table = f"<table><thead><tr><th scope=col>month</th><th scope=col>{escape(unit)}</th></tr></thead><tbody>{rows}</tbody></table>"
    return _figure(label, _svg(label, "".join(body)), table)


def line(data: list[tuple[str, int]], *, label: str, unit: str) -> Markup:
    if not data:
        return _empty(label)
    top = max(v for _, v in data) or 1
    step = (WIDTH - PAD_LEFT) / len(data)
    span = HEIGHT - PAD_BOTTOM - PAD_TOP
    points = [(PAD_LEFT + step * (i + 0.5), HEIGHT - PAD_BOTTOM - span * v / top) for i, (_, v) in enumerate(data)]
    body = [_axis(top)]
    body.append(
        '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
            PALETTE[0], " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        )
    )
    for (x, y), (name, value) in zip(points, data):
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[0]}"><title>{escape(name)}: {value} '
            f"{escape(unit)}</title></circle>"
        )
    body.append(_labels([n for n, _ in data], step))
    rows = "".join(f"<tr><td>{escape(n)}</td><td>{v}</td></tr>" for n, v in data)
    table = f"<table><thead><tr><th scope=col>meeting</th><th scope=col>{escape(unit)}</th></tr></thead><tbody>{rows}</tbody></table>"
    return _figure(label, _svg(label, "".join(body)), table)


def paired_bars(data: list[tuple[str, int, int]], *, label: str, names: tuple[str, str]) -> Markup:
    if not data:
        return _empty(label)
    top = max(max(a, b) for _, a, b in data) or 1
    step = (WIDTH - PAD_LEFT) / len(data)
    span = HEIGHT - PAD_BOTTOM - PAD_TOP
    body = [_axis(top)]
    for i, (month, a, b) in enumerate(data):
        for j, value in enumerate((a, b)):
            h = span * value / top
            w = min(step * 0.38, MAX_BAR)
            x = PAD_LEFT + step * (i + 0.5) + (j - 1) * (w + 2) + (1 if j else 0)
            body.append(
                f'<rect x="{x:.1f}" y="{HEIGHT - PAD_BOTTOM - h:.1f}" width="{w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[j]}"><title>{escape(month)}: {value} {escape(names[j])}</title></rect>'
            )
    body.append(_labels([m for m, _, _ in data], step))
    legend = "".join(
        f'<rect x="{WIDTH - 150 + 75 * j}" y="2" width="10" height="10" fill="{PALETTE[j]}"/>'
        f'<text x="{WIDTH - 136 + 75 * j}" y="11" class="tick">{escape(name)}</text>'
        for j, name in enumerate(names)
    )
    body.append(legend)
    rows = "".join(f"<tr><td>{escape(m)}</td><td>{a}</td><td>{b}</td></tr>" for m, a, b in data)
    table = (
        f"<table><thead><tr><th scope=col>month</th><th scope=col>{escape(names[0])}</th>"
        f"<th scope=col>{escape(names[1])}</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return _figure(label, _svg(label, "".join(body)), table)


def shares(data: list[tuple[str, list[tuple[str, float]]]], *, label: str) -> Markup:
    """One horizontal bar per meeting, split by speaker; a speaker keeps their colour across meetings."""
    if not data:
        return _empty(label)
    speakers: list[str] = []
    for _, parts in data:
        for name, _ in parts:
            if name not in speakers:
                speakers.append(name)
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(speakers)}
    row_h, left, legend_h = 22, 96, 20 * ((len(speakers) + 3) // 4)
    height = row_h * len(data) + legend_h + 8
    body = []
    for i, (meeting, parts) in enumerate(data):
        y = i * row_h
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" class="tick">{escape(meeting)}</text>')
        x = float(left)
        for name, share in parts:
            w = (WIDTH - left) * share
            body.append(
                f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour[name]}">'
                f"<title>{escape(meeting)}: {escape(name)} {share * 100:.0f}%</title></rect>"
            )
            x += w
    for i, name in enumerate(speakers):
        lx, ly = left + (i % 4) * 130, row_h * len(data) + 8 + (i // 4) * 20
        body.append(
            f'<rect x="{lx}" y="{ly}" width="10" height="10" fill="{colour[name]}"/>'
            f'<text x="{lx + 14}" y="{ly + 9}" class="tick">{escape(name[:18])}</text>'
        )
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '
        f'preserveAspectRatio="xMidYMid meet">{"".join(body)}</svg>'
    )
    rows = "".join(
        f"<tr><td>{escape(m)}</td><td>{escape(', '.join(f'{n} {s * 100:.0f}%' for n, s in parts))}</td></tr>"
        for m, parts in data
    )
    table = f"<table><thead><tr><th scope=col>meeting</th><th scope=col>share of talk time</th></tr></thead><tbody>{rows}</tbody></table>"
    return _figure(label, svg, table)
