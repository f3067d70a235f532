"""The risk (crisis) flag and what the person was signposted to: one rule for intake and later edits.

A referral can say the person is in crisis or at risk. The flag is a fact about the journey
(``journey.risk_flag``), shown plainly wherever the journey is listed; with it goes where the
person was signposted (crisis line, GP, A&E, the crisis team...), as free text, required while
the flag is set. Clearing the flag keeps what was written about the signposting unless it is
cleared too: it is history, not a setting.
"""

from __future__ import annotations

from navigator.domain.errors import DomainError
from navigator.domain.text import check_text

SIGNPOSTED_MAX = 1000
MARKER = "AT RISK"  # the words shown beside a flagged journey (never colour alone)


def check_risk(flag: bool, signposted_to: str | None) -> tuple[bool, str | None]:
    """The flag and the signposting text, checked: (flag, text or None).

    Raises ``DomainError`` (field ``signposted_to``) for text that cannot be stored, or when the
    flag is set and nothing says where the person was signposted.
    """
    text = check_text(signposted_to, "signposted_to", max_len=SIGNPOSTED_MAX, multiline=True)
    if flag and not text:
        raise DomainError(
            "Say what the person was signposted to (for example a crisis line, their GP, A&E).",
            field="signposted_to",
        )
    return bool(flag), text
