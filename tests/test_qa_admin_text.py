"""QA of issue 11: what an admin types (people's names, partners, localities, lots) is refused with a
clear message when it carries an escape sequence or control character, like every other typed text
(domain.text.check_text), never silently stored with the sequence cut out."""

from __future__ import annotations

import pytest

from navigator.domain.errors import DomainError
from navigator.services.setup import admin

ANSI = "\x1b[31mRed"


@pytest.mark.parametrize(
    "add",
    [
        lambda ctx, v: admin.add_user(ctx, "qa.user", v),
        lambda ctx, v: admin.add_partner(ctx, v),
        lambda ctx, v: admin.add_reference(ctx, "locality", v, lot="Lot 1"),
        lambda ctx, v: admin.add_reference(ctx, "lot", "qa-lot", v),
    ],
    ids=["user", "partner", "locality", "lot"],
)
@pytest.mark.parametrize(
    "value", [ANSI, "Ann\x07", "Ann\u202eLee", "Ann\nLee"], ids=["ansi", "bell", "bidi", "newline"]
)
def test_admin_text_with_control_characters_is_refused_with_a_reason(ctx, add, value):
    with pytest.raises(DomainError) as refused:
        add(ctx, value)
    assert refused.value.message.startswith(("Contains", "Keep this to one line"))
    assert value not in refused.value.message  # the reason names the code point, never repeats the text


def test_admin_text_that_is_only_unusual_is_kept_exactly(ctx):
    for i, value in enumerate(["Test[/bold]", "[bold red]Ann[/]", "مرحبا", "Zoe\u0301 😀"]):
        assert admin.add_partner(ctx, f"P{i} {value}").name == f"P{i} {value}"
