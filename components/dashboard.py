"""The operations dashboard's body: alarm status first, then a row of metric widgets per watched tier.

The Observability component collects the widgets while it creates the alarms (each tier adds its own section) and
hands them here for the layout: a 24-column grid, three 8x6 widgets per row, no two widgets overlapping.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

ALARMS_PER_STATUS_WIDGET = 100
"""CloudWatch shows at most 100 alarms in one alarm-status widget."""
GRID_COLUMNS = 24
WIDGETS_PER_ROW = 3


@dataclass(frozen=True)
class Widget:
    """One time-series widget."""

    title: str
    metrics: list[list[Any]]
    """CloudWatch metric arrays: namespace, metric name, dimension name/value pairs, then an options object."""
    stat: str = "Average"
    period: int = 300
    threshold: float | None = None
    """Drawn as a horizontal `alarm` annotation (the alarm's threshold, in the metric's unit)."""
    region: str | None = None
    """Where the metrics are, when not the stack's Region (CloudFront's are only in us-east-1)."""


def flat(dimensions: Mapping[str, pulumi.Input[str]]) -> list[pulumi.Input[str]]:
    """Dimensions as the dashboard's metric arrays spell them: name, value, name, value, ..."""
    return [item for pair in dimensions.items() for item in pair]


def dashboard_body(*, region: str, alarm_arns: Sequence[pulumi.Input[str]],
                   sections: Mapping[str, Sequence[Widget]]) -> dict[str, Any]:
    """The dashboard JSON (before Outputs resolve): alarm status widgets, then each section's heading and widgets."""
    widgets: list[dict[str, Any]] = []
    y = 0
    for start in range(0, len(alarm_arns), ALARMS_PER_STATUS_WIDGET):
        widgets.append({"type": "alarm", "x": 0, "y": y, "width": GRID_COLUMNS, "height": 4, "properties": {
            "title": "Alarms", "alarms": list(alarm_arns[start:start + ALARMS_PER_STATUS_WIDGET]),
            "sortBy": "stateUpdatedTimestamp"}})
        y += 4
    width = GRID_COLUMNS // WIDGETS_PER_ROW
    for section, section_widgets in sections.items():
        widgets.append({"type": "text", "x": 0, "y": y, "width": GRID_COLUMNS, "height": 1,
                        "properties": {"markdown": f"## {section}"}})
        y += 1
        for index, widget in enumerate(section_widgets):
            properties: dict[str, Any] = {
                "title": widget.title, "region": widget.region or region, "view": "timeSeries", "stacked": False,
                "stat": widget.stat, "period": widget.period, "metrics": widget.metrics,
            }
            if widget.threshold is not None:
                properties["annotations"] = {"horizontal": [{"label": "alarm", "value": widget.threshold}]}
            widgets.append({"type": "metric", "x": (index % WIDGETS_PER_ROW) * width,
                            "y": y + (index // WIDGETS_PER_ROW) * 6, "width": width, "height": 6,
                            "properties": properties})
        y += ((len(section_widgets) + WIDGETS_PER_ROW - 1) // WIDGETS_PER_ROW) * 6
    if not widgets:
        widgets.append({"type": "text", "x": 0, "y": 0, "width": GRID_COLUMNS, "height": 2, "properties": {
            "markdown": "Nothing is watched yet: pass the stack's resources to Observability."}})
    return {"widgets": widgets}
