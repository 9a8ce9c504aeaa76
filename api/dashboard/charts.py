"""Charts for the dashboard, drawn on the server as SVG by pygal and shown as images (``data:`` URLs, which
the dashboard's Content-Security-Policy allows for images): no script runs and nothing loads from elsewhere
(pygal's own script is left out; an SVG shown as an image runs none anyway). Each chart has a title and a
one-sentence summary for its image's alternative text; the page puts the numbers in a table beside it."""

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pygal
from pygal.etree import etree
from pygal.style import Style

from notifications.render import money

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1d2330",
    foreground_strong="#1d2330",
    foreground_subtle="#5b6475",
    opacity="1",
    opacity_hover="1",
    colors=("#1f5eff", "#1b7f3b", "#8a5a00", "#b3261e"),
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    title_font_size=18,
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=14,
    value_font_size=13,
)


LABELLED = 14  # at most this many steps named under a chart over time


@dataclass(frozen=True)
class Chart:
    title: str
    summary: str  # the image's alternative text
    src: str  # a data: URL of the SVG
    width: int = 860
    height: int = 380


def _config(formatter: Callable[[float], str], horizontal: bool = False) -> pygal.Config:
    """The page names the chart (its figure's caption): the drawing carries no title of its own."""
    config = pygal.Config()
    config.style = STYLE
    config.js = []  # no script: the page's policy allows none of pygal's, and an image runs none
    config.disable_xml_declaration = True
    config.width, config.height = 860, 380
    config.legend_at_bottom = True
    config.x_label_rotation = 0 if horizontal else 30
    config.truncate_label = 28
    config.truncate_legend = 40
    config.value_formatter = formatter
    config.show_minor_x_labels = True
    config.print_values = False
    return config


def _src(chart: pygal.graph.graph.Graph) -> str:
    """The chart as a data: URL, without the configuration script pygal writes into every SVG."""
    tree = chart.render_tree()
    for parent in list(tree.iter()):
        for child in list(parent):
            if str(child.tag).rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    svg = etree.tostring(tree, encoding="unicode")  # lxml's or the standard library's, as pygal chose
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _whole_steps(top: int) -> list[int]:
    """Axis marks at whole numbers (a count has no halves), about five of them."""
    step = max(1, -(-top // 5))
    return list(range(0, max(top, 1) + step, step))


def _count(value: float) -> str:
    return f"{int(value):,}"


def _dollars(value: float) -> str:
    return money(int(value))


def _peak(labels: Sequence[str], values: Sequence[int], say: Callable[[float], str]) -> str:
    if not values or not any(values):
        return "nothing in this period"
    top = max(range(len(values)), key=lambda i: values[i])
    return f"{say(sum(values))} in all, the most in {labels[top]} ({say(values[top])})"


def over_time(
    title: str,
    labels: Sequence[str],
    series: dict[str, Sequence[int]],
    money_values: bool = False,
    names: Sequence[str] | None = None,
) -> Chart:
    """Bars per week or month, one colour per series; ``names``: the steps in full, for the summary."""
    say = _dollars if money_values else _count
    chart = pygal.Bar(_config(say))
    chart.x_labels = list(labels)
    if len(labels) > LABELLED:  # many weeks: name every few, so the names stay readable
        chart.x_labels_major_every = -(-len(labels) // LABELLED)
        chart.show_minor_x_labels = False
    if not money_values:
        chart.y_labels = _whole_steps(max((max(v, default=0) for v in series.values()), default=0))
    for name, values in series.items():
        chart.add(name, list(values))
    summary = "; ".join(f"{name}: {_peak(names or labels, values, say)}" for name, values in series.items())
    return Chart(title, f"{title}. {summary}. The numbers are in the table below.", _src(chart))


def ranked(title: str, labels: Sequence[str], values: Sequence[int], shown: int = 10) -> Chart:
    """Horizontal bars for the largest groups (the table below lists every one)."""
    pairs = [(label, value) for label, value in zip(labels, values, strict=True) if value][:shown]
    chart = pygal.HorizontalBar(_config(_count, horizontal=True))
    chart.show_legend = False
    chart.y_labels = _whole_steps(max((value for _, value in pairs), default=0))
    chart.height = max(180, 110 + 44 * len(pairs))  # a bar's height, however many there are
    chart.x_labels = [label for label, _ in reversed(pairs)]
    chart.add(title, [value for _, value in reversed(pairs)])
    if pairs:
        listed = ", ".join(f"{label} {value:,}" for label, value in pairs)
        summary = f"{title}: {listed}"
    else:
        summary = f"{title}: none in this period"
    return Chart(title, f"{summary}. The numbers are in the table below.", _src(chart), height=chart.height)
