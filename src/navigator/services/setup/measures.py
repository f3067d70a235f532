"""Measures settings: the licensed SWEMWBS wording, the meaningful-change threshold, ONS4."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlmodel import Session

from navigator.domain.errors import DomainError
from navigator.services import audit
from navigator.services.context import Ctx, get_setting, put_setting
from navigator.services.setup.common import admin_actor, checked_text

SWEMWBS_ITEMS = 7
WORDING_HINT = (
    "The SWEMWBS statement wording is not configured: an admin loads the service's licensed text with "
    "`navigator config wording FILE`."
)


@dataclass(frozen=True)
class SwemwbsWording:
    """The licensed statement texts and copyright line, or None until a service configures them."""

    statements: tuple[str, ...] | None
    copyright: str | None

    @property
    def configured(self) -> bool:
        return self.statements is not None

    def statement(self, i: int) -> str:
        """Statement i (1-7): the configured text, else 'Statement i'."""
        if self.statements:
            return self.statements[i - 1]
        return f"Statement {i}"

    def labels(self) -> tuple[str, ...]:
        return tuple(self.statement(i) for i in range(1, SWEMWBS_ITEMS + 1))


@dataclass(frozen=True)
class MeasureSettings:
    threshold: Decimal
    ons4_enabled: bool
    wording: SwemwbsWording


def wording_in(s: Session) -> SwemwbsWording:
    data = get_setting(s, "swemwbs_wording")
    if not data or not data.get("statements"):
        return SwemwbsWording(None, None)
    return SwemwbsWording(tuple(data["statements"]), data.get("copyright") or None)


def swemwbs_wording(ctx: Ctx) -> SwemwbsWording:
    """For forms: the statement wording, or None ("Statement 1"...) with WORDING_HINT."""
    with ctx.read() as s:
        return wording_in(s)


def threshold_in(s: Session) -> Decimal:
    return Decimal(str(get_setting(s, "swemwbs_threshold", "3")))


def measure_settings(ctx: Ctx) -> MeasureSettings:
    with ctx.read() as s:
        return MeasureSettings(threshold_in(s), bool(get_setting(s, "ons4_enabled", False)), wording_in(s))


def parse_wording(text: str) -> tuple[tuple[str, ...], str]:
    """Read the licensed wording file. Two forms are accepted:

    Plain text (UTF-8): the 7 statements, one per line, in the order of the scale, then the
    copyright line. Blank lines and lines starting with '#' are ignored.

    TOML: ``statements = ["...", ... 7 of them]`` and ``copyright = "..."``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    data = None
    if re.search(r"^\s*statements\s*=", text, flags=re.M):
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise DomainError(f"The wording file looks like TOML but does not parse: {exc}.", field="wording") from None
    if data is not None:
        statements = data.get("statements")
        copyright_ = data.get("copyright")
        if not isinstance(statements, list) or not all(isinstance(x, str) for x in statements):
            raise DomainError("`statements` must be a list of 7 texts.", field="wording")
        if not isinstance(copyright_, str):
            raise DomainError('Give the copyright line as `copyright = "..."`.', field="wording")
    else:
        lines = [ln.strip() for ln in text.splitlines()]
        lines = [ln for ln in lines if ln and not ln.startswith("#")]
        if len(lines) != SWEMWBS_ITEMS + 1:
            raise DomainError(
                f"The wording file has {len(lines)} lines of text; it needs exactly 8: the 7 "
                "statements in order, then the copyright line.",
                field="wording",
            )
        statements, copyright_ = lines[:SWEMWBS_ITEMS], lines[SWEMWBS_ITEMS]
    return check_wording(statements, copyright_)


def check_wording(statements: Sequence[str], copyright_: str | None) -> tuple[tuple[str, ...], str]:
    if len(statements) != SWEMWBS_ITEMS:
        raise DomainError(f"SWEMWBS has 7 statements; the file gives {len(statements)}.", field="wording")
    clean = tuple(checked_text(st, "wording", max_len=300, required=True) for st in statements)
    if len(set(x.lower() for x in clean)) != SWEMWBS_ITEMS:
        raise DomainError("Two statements are the same; check the file.", field="wording")
    c = checked_text(copyright_, "copyright", max_len=500, required=True)
    return clean, c


def set_wording_in(
    s: Session, ctx: Ctx, w: audit.AuditWriter, statements: Sequence[str] | None, copyright_: str | None
) -> bool:
    before = get_setting(s, "swemwbs_wording")
    if statements is None:
        if before is None:
            return False
        from navigator.store.models import Setting

        row = s.get(Setting, "swemwbs_wording")
        s.delete(row)
        s.flush()
        w.add("config.wording", "setting", None, before=before, after=None)
        return True
    stmts, c = check_wording(statements, copyright_)
    after = {"statements": list(stmts), "copyright": c}
    if before == after:
        return False
    put_setting(s, "swemwbs_wording", after, ctx.now())
    w.add("config.wording", "setting", None, before=before, after=after)
    return True


def set_wording(ctx: Ctx, statements: Sequence[str] | None, copyright_: str | None) -> SwemwbsWording:
    """Store the licensed wording (None: forget it, forms show 'Statement 1'...)."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        set_wording_in(s, ctx, audit.writer(s, ctx), statements, copyright_)
        return wording_in(s)


def load_wording(ctx: Ctx, text: str) -> SwemwbsWording:
    statements, copyright_ = parse_wording(text)
    return set_wording(ctx, statements, copyright_)


def check_threshold(value) -> Decimal:
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(
            "The threshold is a number of metric points, for example 3 or 2.5.", field="threshold"
        ) from None
    if not d.is_finite() or not Decimal("0.01") <= d <= Decimal("28"):
        raise DomainError("The threshold is between 0.01 and 28 metric points (commonly 1 to 3).", field="threshold")
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number's (checked above)
    if exponent < -2:
        raise DomainError("Give the threshold to at most two decimal places.", field="threshold")
    return d


def threshold_text(d: Decimal) -> str:
    """The stored form: '3', '2.5'."""
    return format(d.normalize(), "f")


def set_threshold_in(s: Session, ctx: Ctx, w: audit.AuditWriter, value) -> bool:
    text_ = threshold_text(check_threshold(value))
    before = get_setting(s, "swemwbs_threshold")
    if (before or "3") == text_:
        return False
    put_setting(s, "swemwbs_threshold", text_, ctx.now())
    w.add(
        "config.threshold",
        "setting",
        None,
        before={"swemwbs_threshold": before or "3"},
        after={"swemwbs_threshold": text_},
    )
    return True


def set_threshold(ctx: Ctx, value) -> Decimal:
    """The SWEMWBS meaningful-change threshold in metric points (default 3)."""
    with ctx.write() as s:
        admin_actor(s, ctx)
        set_threshold_in(s, ctx, audit.writer(s, ctx), value)
        return threshold_in(s)


def set_ons4_in(s: Session, ctx: Ctx, w: audit.AuditWriter, enabled: bool) -> bool:
    before = bool(get_setting(s, "ons4_enabled", False))
    if before == bool(enabled):
        return False
    put_setting(s, "ons4_enabled", bool(enabled), ctx.now())
    w.add("config.ons4", "setting", None, before={"ons4_enabled": before}, after={"ons4_enabled": bool(enabled)})
    return True


def set_ons4(ctx: Ctx, enabled: bool) -> bool:
    with ctx.write() as s:
        admin_actor(s, ctx)
        set_ons4_in(s, ctx, audit.writer(s, ctx), enabled)
        return bool(enabled)
