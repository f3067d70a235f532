"""Messages the app's screens exchange.

``DataChanged`` is the one every form relies on: after a successful save the app
broadcasts it (``app.data_changed(journey_id)``) so that Today, Caseload and the
Journey screen reload at once. ``Loaded``/``Failed`` carry a worker's result (or
its error) back to the screen that asked, so that only message handlers touch
widgets.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class DataChanged(Message):
    """Something was saved: screens showing store data reload.

    ``journey_id`` names the journey that changed, when one did (None: anything may have).
    Post it to the app (or call ``app.data_changed``); the app re-broadcasts it to every screen.
    """

    def __init__(self, journey_id: int | None = None) -> None:
        super().__init__()
        self.journey_id = journey_id
        self.broadcast = False  # set by the app on the copies it sends to screens


class Loaded(Message):
    """A worker finished: ``key`` says which request, ``result`` is what the service returned."""

    bubble = False

    def __init__(self, key: str, result: Any, seq: int = 0) -> None:
        super().__init__()
        self.key = key
        self.result = result
        self.seq = seq


class Failed(Message):
    """A worker's service call raised: ``error`` is a DomainError/StoreError (or another exception)."""

    bubble = False

    def __init__(self, key: str, error: BaseException, seq: int = 0) -> None:
        super().__init__()
        self.key = key
        self.error = error
        self.seq = seq
