"""Joining late ground truth to the predictions of a window.

Predictions are logged at serving time; labels often arrive days later in another table. A
monitor's ``[monitors.labels]`` source is read and left-joined to the window on the row id, so
a prediction without a label stays in the frame (counted by ``label_coverage``) instead of
disappearing. Where both sides hold a label, the labels source wins; a row id labelled twice
keeps its last label.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from .errors import DataError
from .model import Schema, Window
from .outcomes import label_keys

if TYPE_CHECKING:
    from .config import LabelsSettings


def join_labels(frame: pd.DataFrame, labels: LabelsSettings, schema: Schema, window: Window | None,
                now: datetime, *, where: str) -> pd.DataFrame:
    """``frame`` with ``schema.target`` filled from the labels source, joined on the id column.

    The labels are read for ``[window.start, now)`` when the source cuts by time (labels for a
    window's predictions cannot arrive before it starts), else whole.
    """
    id_column = labels.id_column or schema.id
    target = schema.target
    if id_column is None or target is None:
        raise DataError(f"{where}: joining labels needs schema.target and an id column")
    if id_column not in frame.columns:
        raise DataError(f"{where}: the id column {id_column!r} (to join labels on) is missing")
    span = Window(window.start, max(now, window.end)) if window is not None else None
    truth = labels.connector.fetch(span, [id_column, target])
    for column in (id_column, target):
        if column not in truth.columns:
            raise DataError(f"labels source: column {column!r} is missing")
    # Ids compare as normalised text, so 1000 (int), 1000.0 (a CSV column with gaps) and "1000"
    # (a text column in the labels table) are the same row.
    truth = truth.assign(_key=label_keys(truth[id_column]))
    truth = truth.drop_duplicates(subset=["_key"], keep="last").set_index("_key")[target]
    joined = pd.Series(label_keys(frame[id_column]), index=frame.index).map(truth)
    out = frame.copy()
    out[target] = joined.combine_first(frame[target]) if target in frame.columns else joined
    return out
