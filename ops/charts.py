"""Server-rendered bar charts (SVG geometry) for the monitoring page.

The site's CSP forbids inline scripts and styles, so a chart is an ``<svg>`` whose bars are
``<rect>`` elements with numeric attributes and a CSS class; every chart has a text summary
and a table of the same numbers beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The drawing's coordinate system; the SVG scales to the page width (viewBox).
HEIGHT = 100
BAR_WIDTH = 10
GAP = 2


@dataclass
class Bar:
    x: int
    y: float
    height: float
    css: str
    label: str


@dataclass
class Column:
    x: int
    label: str
    bars: list[Bar] = field(default_factory=list)


@dataclass
class Chart:
    width: int
    height: int
    columns: list[Column]


def uptime_chart(days: list, labels: list[str]) -> Chart:
    """One bar per day, as tall as the day's uptime; coloured by how good it is."""
    columns = []
    for i, (day, label) in enumerate(zip(days, labels, strict=True)):
        x = i * (BAR_WIDTH + GAP)
        column = Column(x, label)
        percent = day.percent
        if percent is None:
            column.bars.append(Bar(x, HEIGHT - 2, 2, "bar-none", label))
        else:
            css = "bar-ok" if percent >= 99.9 else "bar-warn" if percent >= 99 else "bar-bad"
            height = max(HEIGHT * percent / 100, 1)
            column.bars.append(Bar(x, HEIGHT - height, height, css, label))
        columns.append(column)
    return Chart(len(days) * (BAR_WIDTH + GAP), HEIGHT, columns)


def stacked_chart(rows: list, parts: list[tuple[str, str]], labels: list[str]) -> Chart:
    """One stacked bar per row: ``parts`` is (attribute, css class), bottom first."""
    top = max((sum(getattr(r, a) for a, _ in parts) for r in rows), default=0) or 1
    columns = []
    for i, (row, label) in enumerate(zip(rows, labels, strict=True)):
        x = i * (BAR_WIDTH + GAP)
        column = Column(x, label)
        y = float(HEIGHT)
        for attribute, css in parts:
            value = getattr(row, attribute)
            if value:
                height = HEIGHT * value / top
                y -= height
                column.bars.append(Bar(x, y, height, css, label))
        columns.append(column)
    return Chart(len(rows) * (BAR_WIDTH + GAP), HEIGHT, columns)
