"""Copy the chosen SVG snapshots of the test suite into docs/screenshots/.

The role guides show real screens: the SVGs the snapshot tests
(tests/tui/test_*snapshots.py) record in tests/tui/__snapshots__/. After an
intended change of look, `.venv/bin/pytest tests/tui --snapshot-update` refreshes
both (tests/conftest.py runs this script at the end of such a run); by hand:

    .venv/bin/python docs/screenshots/update.py

tests/test_docs.py fails while a screenshot here differs from its snapshot.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SNAPSHOTS = ROOT / "tests" / "tui" / "__snapshots__"

#: docs/screenshots/<name> -> the snapshot it is a copy of (relative to SNAPSHOTS)
SHOTS: dict[str, str] = {
    "today.svg": "test_snapshots/test_today[160x48].svg",
    "today-80x24.svg": "test_snapshots/test_today[80x24].svg",
    "caseload.svg": "test_snapshots/test_caseload[160x48].svg",
    "journey.svg": "test_snapshots/test_journey[160x48].svg",
    "journey-wellbeing.svg": "test_snapshots/test_journey_wellbeing_tab.svg",
    "new-referral-messages.svg": "test_form_snapshots/test_new_referral_form_with_messages.svg",
    "team.svg": "test_team_snapshots/test_team[160x48].svg",
    "trends.svg": "test_team_snapshots/test_trends[160x48].svg",
    "return-preview.svg": "test_team_snapshots/test_return_preview[160x48].svg",
    "setup-users.svg": "test_admin_snapshots/test_setup_users.svg",
    "setup-partners.svg": "test_admin_snapshots/test_setup_partners.svg",
}


def main() -> int:
    missing = [src for src in SHOTS.values() if not (SNAPSHOTS / src).is_file()]
    if missing:
        print("No snapshot (run the snapshot tests first): " + ", ".join(missing), file=sys.stderr)
        return 1
    for name, src in SHOTS.items():
        shutil.copyfile(SNAPSHOTS / src, HERE / name)
        print(f"docs/screenshots/{name} <- tests/tui/__snapshots__/{src}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
