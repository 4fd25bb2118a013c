"""Plain JSON data from what detectors put in ``details``.

Shared by the store (PostgreSQL's JSON rejects NaN) and the JSON output of ``check``, so both
say the same thing about the same figure.

>>> import numpy as np
>>> json_safe({"bins": np.array([0.5, np.nan]), "n": np.int64(3), "psi": float("inf")})
{'bins': [0.5, None], 'n': 3, 'psi': None}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np


def json_safe(value: Any, path: str = "details") -> Any:
    """``value`` as plain JSON data: dicts with string keys, lists, str, int, finite float, bool, None.

    Non-finite floats become ``None``; numpy scalars and arrays become Python numbers and lists;
    tuples become lists; datetimes become ISO 8601 text. Anything else is a ``TypeError`` naming
    where in the structure it sits.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist(), path)
    if isinstance(value, np.generic):
        return json_safe(value.item(), path)
    if isinstance(value, Decimal):
        return json_safe(float(value), path)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, np.generic):
                key = key.item()
            if isinstance(key, (bool, int, float)) or key is None:
                key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
            if not isinstance(key, str):
                raise TypeError(f"{path}: key {key!r} ({type(key).__name__}) cannot be a JSON object key")
            out[key] = json_safe(item, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [json_safe(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{path}: {type(value).__name__} cannot be stored as JSON")
