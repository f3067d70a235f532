"""domain/text.py: typed free text is refused (not silently changed) when it carries controls."""

import pytest

from navigator.domain.errors import DomainError
from navigator.domain.text import check_text, text_problem


@pytest.mark.parametrize(
    "bad",
    [
        "\x1b[31mRed\x1b[0m",
        "a\x1b]0;owned\x07b",
        "bell\x07",
        "nul\x00",
        "del\x7f",
        "c1\x9bcsi",
        "right\u202eleft",
        "iso\u2066late",
        "two\nlines",
        "tab\there",
        "cr\r",
    ],
)
def test_one_line_text_refuses_controls_naming_the_field(bad):
    with pytest.raises(DomainError) as err:
        check_text(bad, "first_name")
    assert err.value.field == "first_name"
    assert "U+" in err.value.message or "one line" in err.value.message
    assert bad not in err.value.message  # the text itself is never echoed
    assert text_problem(bad) == err.value.message


def test_multiline_allows_newline_and_tab_but_not_escape():
    assert check_text("  line one\r\nline\ttwo  \n", "note", multiline=True) == "line one\nline\ttwo"
    with pytest.raises(DomainError, match="escape") as err:
        check_text("ok\n\x1b[2J", "note", multiline=True)
    assert err.value.field == "note"
    assert text_problem("ok\nfine", multiline=True) is None


def test_trims_keeps_ordinary_text_and_checks_length():
    assert check_text("  Zoë  O'Brien-Łukasz 👍🏽 ", "name") == "Zoë O'Brien-Łukasz 👍🏽"
    assert check_text("👨\u200d👩\u200d👧", "name") == "👨\u200d👩\u200d👧"
    assert check_text("   ", "name") is None
    assert check_text(None, "name") is None
    with pytest.raises(DomainError, match="Required") as err:
        check_text(" ", "reason", required=True)
    assert err.value.field == "reason"
    with pytest.raises(DomainError, match="at most 5") as err:
        check_text("abcdef", "code", max_len=5)
    assert err.value.field == "code"
