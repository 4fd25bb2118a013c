"""The plugin contracts, public: what a third-party detector, connector or channel implements
and what it is handed.

A plugin is a frozen dataclass whose fields are its config keys, with a class attribute
``name`` (its ``type`` in the config), registered under an entry-point group of its kind:

=====================  ==========================  ==============================================
kind                   entry-point group           it implements
=====================  ==========================  ==============================================
``Detector``           ``driftwatch.detectors``    ``required_columns(schema)``, ``run(reference,
                                                   current, schema) -> list[Finding]``
``Connector``          ``driftwatch.connectors``   ``fetch(window, columns) -> DataFrame``,
                                                   ``version(window) -> str``
``Channel``            ``driftwatch.channels``     ``send(message) -> Delivery``, or raise
                                                   ``DeliveryError``
=====================  ==========================  ==============================================

``CONTRIBUTING.md`` has a worked example of each, and ``driftwatch.testing`` checks a plugin
against its contract. These names are kept stable like ``driftwatch.__all__``; they live here
rather than in ``driftwatch`` itself so that ``import driftwatch`` stays light.
"""

from __future__ import annotations

from .alerts.channels import Channel, Delivery
from .alerts.message import Item, Message
from .connectors import Connector
from .detectors import CurrentData, Detector
from .errors import DataError, DeliveryError
from .model import Finding, Schema, Window
from .profiling import ColumnProfile, Profile

__all__ = ["Channel", "ColumnProfile", "Connector", "CurrentData", "DataError", "Delivery", "DeliveryError", "Detector",
           "Finding", "Item", "Message", "Profile", "Schema", "Window"]
