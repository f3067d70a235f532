"""Child process for the import concurrency and crash tests: imports one tracker CSV.

Prints ``READY`` once the store is open, ``WRITING`` when the first batch is about to be written (every
check is done), then ``DONE <journeys>`` when the import has finished.
"""

from __future__ import annotations

import sys
from datetime import date

from navigator.services.context import Ctx
from navigator.services.tracker_import import importer, writing
from navigator.store.engine import open_store


def main() -> None:
    url, path = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        writing.FIRST_BATCH = writing.MAX_BATCH = int(sys.argv[3])  # many small batches: more kill points
        writing.BATCH_SECONDS = 0.0
        writing.PAUSE_SECONDS = 0.0
    store = open_store(url, create=False)
    ctx = Ctx(store, username="admin", today_fn=lambda: date(2026, 11, 25))
    ctx.actor()
    print("READY", flush=True)
    said = False

    def progress(phase: str, done: int, total: int) -> None:
        nonlocal said
        if phase == "Writing" and not said:
            said = True
            print("WRITING", flush=True)

    report = importer.import_file(ctx, path, progress=progress)
    assert report.ok, report.errors[:3]
    print(f"DONE {report.journeys_created}", flush=True)


if __name__ == "__main__":
    main()
