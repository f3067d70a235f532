"""New referral: the person (or an existing one) and the referral, with duplicate detection as you type.

Also (issue 15): the person's address; the risk (crisis) flag with what they were signposted to;
and, for someone whose journey is still open, the choice between adding this referral to that
journey (``open_journey.attach_referral``) and opening a second one. Just over 500 lines: the
person, the referral and the checks between them (duplicates, open journey) are one form.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Checkbox, Input, Static
from textual.worker import get_current_worker

from navigator.domain import lifecycle as L
from navigator.domain import risk
from navigator.domain.errors import DomainError, DuplicatePerson
from navigator.domain.identifiers import (
    format_nhs_number,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
)
from navigator.services.casework import journeys as J
from navigator.services.casework import open_journey as OJ
from navigator.services.dto import ClientSummary, JourneyRef, ReferenceData
from navigator.services.setup import reference as setup
from navigator.tui.forms.base import FormScreen
from navigator.tui.forms.fields import (
    CheckField,
    DateField,
    MultiField,
    NoteField,
    SelectField,
    TextField,
    age_note,
)

METHOD_OPTIONS = [(m.value.capitalize(), m.value) for m in L.ContactMethod]
ATTACH, SECOND = "attach", "second"
OPEN_OPTIONS = [("Add it to the open journey (recommended)", ATTACH), ("Open a second journey", SECOND)]
SIGNPOSTED_HINT = "Where they were signposted: crisis line, GP, A&E, crisis team…"


def parse_email(text: str) -> str:
    if "@" not in text or text.startswith("@") or text.endswith("@"):
        raise DomainError("An email address has an @ (for example name@example.org).")
    return text


def parse_decile(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 10:
        raise DomainError("The IMD decile is 1 to 10.")
    return int(text)


def show_nhs(value: str) -> str:
    return f"Valid NHS number {format_nhs_number(value)}"


def navigator_options(ref: ReferenceData) -> list[tuple[str, str]]:
    return [
        (f"{u.name} ({u.username})", u.username)
        for u in ref.navigators
        if u.active and u.role in ("navigator", "team_lead", "admin")
    ]


@dataclass(frozen=True)
class _Payload:
    data: J.ReferralInput
    attach_to: int | None = None  # the open journey this referral is added to


class UseClientButton(Button):
    """'Use this existing person' for one match."""

    def __init__(self, match: ClientSummary) -> None:
        label = f"Use {match.client_ref}: {match.name}, born {match.date_of_birth.isoformat()}, {match.locality}" + (
            f", NHS {format_nhs_number(match.nhs_number)}" if match.nhs_number else ""
        )
        super().__init__(label, classes="use-client", compact=True)
        self.client_id = match.id


class ReferralForm(FormScreen[JourneyRef]):
    """A new referral. Dismisses with the JourneyRef of the new journey."""

    TITLE = "New referral"
    SAVE_LABEL = "Save referral"
    FIELD_ALIASES = {"client_ref": "first_name"}

    DEFAULT_CSS = """
    ReferralForm #form-box { max-width: 104; }
    ReferralForm.-wide #form-box { max-width: 150; }
    ReferralForm #columns { height: auto; layout: vertical; }
    ReferralForm.-wide #columns { layout: horizontal; }
    ReferralForm .section { height: auto; width: 1fr; margin: 0 0 1 0; }
    ReferralForm.-wide .section { padding: 0 2 0 0; }
    ReferralForm #dups { height: auto; border: round $warning; padding: 0 1; margin: 0 0 1 0; }
    ReferralForm #dups Button { margin: 0 0 0 0; width: auto; }
    ReferralForm #dups-text { color: $warning; text-style: bold; }
    ReferralForm #dups-list { height: auto; }
    ReferralForm #existing { height: auto; border: round $success; padding: 0 1; margin: 0 0 1 0; }
    ReferralForm #existing-text { color: $text-success; text-style: bold; }
    ReferralForm #dup-note { color: $text-muted; height: auto; }
    ReferralForm #open-box { height: auto; margin: 1 0 0 0; }
    ReferralForm #open-text { color: $warning; text-style: bold; }
    ReferralForm #risk-box { height: auto; }
    """

    class DuplicatesFound(Message):
        def __init__(self, key: tuple, matches: list[ClientSummary]) -> None:
            super().__init__()
            self.key = key
            self.matches = matches

    class OpenJourneyFound(Message):
        def __init__(self, client_id: int, found: OJ.OpenJourney | None) -> None:
            super().__init__()
            self.client_id = client_id
            self.found = found

    def __init__(self, ctx) -> None:
        super().__init__(ctx)
        self.ref: ReferenceData | None = None
        self.matches: list[ClientSummary] = []
        self.dismissed_ids: frozenset[int] = frozenset()  # "this is someone else" for these matches
        self.existing: ClientSummary | None = None
        self.open_journey: OJ.OpenJourney | None = None  # the existing person's open journey
        self._dup_key: tuple | None = None

    # ------------------------------------------------------------ layout
    def compose_fields(self) -> ComposeResult:
        clock = self.clock
        with Vertical(id="columns"):
            with Vertical(classes="section", id="person-section"):
                yield Static("The person", classes="section-title")
                with Vertical(id="existing"):
                    yield Static("", id="existing-text", markup=False)
                    yield Button("Enter a new person instead", id="existing-undo", compact=True)
                    with Vertical(id="open-box"):
                        yield Static("", id="open-text", markup=False)
                        yield SelectField(
                            "open_journey", "This referral", OPEN_OPTIONS, required=True, prompt="Add it, or open…"
                        )
                with Vertical(id="person-fields"):
                    yield TextField("first_name", "First name", required=True, max_len=100)
                    yield TextField("last_name", "Last name", required=True, max_len=100)
                    yield DateField(
                        "date_of_birth", "Date of birth", clock, value=None, relative=False, extra=self._age_extra
                    )
                    yield TextField(
                        "nhs_number",
                        "NHS number",
                        placeholder="10 digits",
                        parse=normalise_nhs_number,
                        show=show_nhs,
                        max_len=14,
                    )
                    with Vertical(id="dups"):
                        yield Static("", id="dups-text", markup=False)
                        yield Vertical(id="dups-list")
                        yield Button(
                            "This is someone else: enter as a new person", id="dups-someone-else", compact=True
                        )
                    yield Static("", id="dup-note", markup=False)
                    yield SelectField("locality", "Locality", required=True, prompt="Choose the locality…")
                    yield TextField(
                        "postcode",
                        "Postcode",
                        parse=normalise_postcode,
                        show=lambda v: v,
                        max_len=10,
                        placeholder="e.g. ME14 1XX",
                    )
                    yield TextField(
                        "phone",
                        "Phone",
                        max_len=40,
                        parse=normalise_phone,
                        show=lambda v: v,
                        placeholder="07700 900123",
                    )
                    yield TextField("address", "Address", max_len=400, placeholder="house, street, town (for letters)")
                    yield TextField("email", "Email", parse=parse_email)
                    yield SelectField("preferred_method", "Preferred contact", METHOD_OPTIONS, prompt="No preference")
                    yield TextField(
                        "imd_decile",
                        "IMD decile",
                        parse=parse_decile,
                        restrict=r"\d{0,2}",
                        width=28,
                        placeholder="1 (most deprived) to 10",
                        max_len=2,
                    )
                    yield CheckField("consent_to_share", "Consent", "Consents to share details with partners")
            with Vertical(classes="section", id="referral-section"):
                yield Static("The referral", classes="section-title")
                yield DateField("received_date", "Received", clock, not_future=True)
                yield Static("", id="age-warning", classes="notice", markup=False)
                yield SelectField("source", "Source", required=True, prompt="Choose the source…")
                yield TextField("referrer", "Referrer", placeholder="who referred (name, organisation)")
                yield NoteField("reason", "Reason")
                yield MultiField("support_areas", "Support areas")
                yield SelectField("navigator", "Navigator", required=True)
                yield CheckField("risk_flag", "Risk", f"In crisis or at risk (marked {risk.MARKER})")
                with Vertical(id="risk-box"):
                    yield NoteField("signposted_to", "Signposted to", required=True, hint=SIGNPOSTED_HINT)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#dups").display = False
        self.query_one("#existing").display = False
        self.query_one("#open-box").display = False
        self.query_one("#risk-box").display = False
        self.set_note("#dup-note", None)
        self.set_note("#age-warning", None)
        self.set_context("* required · people already known are found as you type")

    # ------------------------------------------------------------ loading
    def load(self) -> ReferenceData:
        return setup.reference(self.ctx)

    def preload(self) -> ReferenceData | None:
        return getattr(self.app, "kept_reference", None)

    def remember(self, data: ReferenceData) -> None:
        self.keep(reference=data)

    def apply(self, ref: ReferenceData) -> None:
        """Fill the pickers; applied again (the reference data changed since the app kept it), what was
        already chosen stays chosen where it still can be."""
        self.ref = ref
        locality = self.field("locality")
        assert isinstance(locality, SelectField)
        locality.set_options(
            [(f"{loc.name} ({loc.lot_code})", loc.id) for loc in ref.localities], value=locality.selected
        )
        source = self.field("source")
        assert isinstance(source, SelectField)
        source.set_options([(s.name, s.code) for s in ref.sources], value=source.selected)
        areas = self.field("support_areas")
        assert isinstance(areas, MultiField)
        areas.set_options([(a.name, a.code) for a in ref.support_areas], selected=areas.value())
        nav = self.field("navigator")
        assert isinstance(nav, SelectField)
        nav.set_options(navigator_options(ref), value=nav.selected or self.ctx.username)

    # ------------------------------------------------------------ age
    def _received(self) -> date | None:
        try:
            return self.field("received_date").value()
        except Exception:
            return None

    def _age_extra(self, dob: date) -> tuple[str, bool] | None:
        if not self.is_mounted:
            return None
        note = age_note(dob, self._received(), L.MIN_AGE)
        if note and note[1]:
            return (note[0].split(":")[0] + f": under {L.MIN_AGE}.", True)
        return note

    def _update_age_warning(self) -> None:
        dob = None
        if self.existing is not None:
            dob = self.existing.date_of_birth
        else:
            try:
                dob = self.field("date_of_birth").value()
            except DomainError:
                dob = None
        note = age_note(dob, self._received(), L.MIN_AGE)
        self.set_note("#age-warning", note[0] if note and note[1] else None)
        if self.existing is None:
            self.field("date_of_birth").check()

    # ------------------------------------------------------------ duplicates as you type
    def _identity(self) -> tuple[tuple, J.ClientInput] | None:
        first = self.field("first_name")
        last = self.field("last_name")
        try:
            dob = self.field("date_of_birth").value()
        except DomainError:
            dob = None
        assert isinstance(first, TextField) and isinstance(last, TextField)
        nhs_text = self.field("nhs_number").text  # type: ignore[attr-defined]
        try:
            nhs = normalise_nhs_number(nhs_text)
        except DomainError:
            nhs = None
        names = bool(first.text.strip() and last.text.strip() and dob)
        if not names and not nhs:
            return None
        key = (first.text.strip().lower(), last.text.strip().lower(), dob, nhs)
        return key, J.ClientInput(first.text.strip(), last.text.strip(), dob, None, nhs_number=nhs)

    @on(Input.Changed, "#f-first_name, #f-last_name, #f-date_of_birth, #f-nhs_number")
    def _identity_changed(self, event: Input.Changed) -> None:
        if event.input.id == "f-date_of_birth":
            self._update_age_warning()
        found = self._identity()
        if found is None:
            self._dup_key = None
            self.call_later(self._show_matches, [])
            return
        key, data = found
        if key == self._dup_key:
            return
        self._dup_key = key
        self._check_duplicates(key, data)

    @on(Input.Changed, "#f-received_date")
    def _received_changed(self, event: Input.Changed) -> None:
        self._update_age_warning()

    @work(thread=True, exclusive=True, group="duplicates")
    def _check_duplicates(self, key: tuple, data: J.ClientInput) -> None:
        worker = get_current_worker()
        try:
            matches = J.check_duplicates(self.ctx, data)
        except Exception:
            return
        if not worker.is_cancelled:
            self.post_message(self.DuplicatesFound(key, matches))

    @on(DuplicatesFound)
    def _duplicates_found(self, message: DuplicatesFound) -> None:
        message.stop()
        if message.key != self._dup_key:
            return  # stale: the person has been retyped since
        self.call_later(self._show_matches, message.matches)

    async def _show_matches(self, matches: list[ClientSummary]) -> None:
        self.matches = list(matches)
        panel = self.query_one("#dups")
        ids = frozenset(m.id for m in matches)
        if not matches:
            panel.display = False
            self.set_note("#dup-note", None)
            return
        if ids <= self.dismissed_ids:
            panel.display = False
            self.set_note("#dup-note", "Entered as someone else, not " + ", ".join(m.client_ref for m in matches) + ".")
            return
        self.set_note("#dup-note", None)
        n = len(matches)
        self.query_one("#dups-text", Static).update(
            f"{'This person may' if n == 1 else f'{n} people may'} already be known "
            "(same name and date of birth, or the same NHS number). Tab to a choice, enter to take it:"
        )
        box = self.query_one("#dups-list", Vertical)
        await box.remove_children()
        await box.mount_all([UseClientButton(m) for m in matches[:5]])
        panel.display = True

    @on(Button.Pressed, ".use-client")
    def _use_existing(self, event: Button.Pressed) -> None:
        event.stop()
        client_id = getattr(event.button, "client_id", None)
        chosen = next((m for m in self.matches if m.id == client_id), None)
        if chosen is None:
            return
        self.existing = chosen
        self.query_one("#person-fields").display = False
        self.query_one("#existing").display = True
        self.query_one("#existing-text", Static).update(
            f"Referral for {chosen.client_ref} {chosen.name}, born {chosen.date_of_birth.isoformat()} "
            f"({chosen.locality}). Their details are kept as they are."
        )
        self._update_age_warning()
        self._show_open_journey(None)
        self.field("received_date").focus_control()
        self._check_open_journey(chosen.id)

    @work(thread=True, exclusive=True, group="open-journey")
    def _check_open_journey(self, client_id: int) -> None:
        worker = get_current_worker()
        try:
            found = OJ.open_journey_of(self.ctx, client_id)
        except Exception:
            return
        if not worker.is_cancelled:
            self.post_message(self.OpenJourneyFound(client_id, found))

    @on(OpenJourneyFound)
    def _open_journey_found(self, message: OpenJourneyFound) -> None:
        message.stop()
        if self.existing is None or self.existing.id != message.client_id:
            return  # stale: another person was chosen since
        self._show_open_journey(message.found)
        if message.found is not None:
            # the choice focused, with the warning above it in view (not scrolled to the choice alone)
            self.set_focus(self.field("open_journey").control, scroll_visible=False)
            self.call_after_refresh(self._show_warning)

    def _show_warning(self) -> None:
        body = self.query_one("#form-body", VerticalScroll)
        body.scroll_to_widget(self.query_one("#existing"), top=True, animate=False)

    def _show_open_journey(self, found: OJ.OpenJourney | None) -> None:
        """The warning for a person whose journey is still open, and the choice it asks for."""
        self.open_journey = found
        self.query_one("#open-box").display = found is not None
        if found is None:
            return
        flag = f" {risk.MARKER}." if found.risk_flag else ""
        self.query_one("#open-text", Static).update(
            f"Open journey: {found.describe()}.{flag} Add this referral to it rather than opening a second journey?"
        )

    @on(Checkbox.Changed, "#f-risk_flag")
    def _risk_changed(self, event: Checkbox.Changed) -> None:
        self.query_one("#risk-box").display = bool(event.value)

    @on(Button.Pressed, "#existing-undo")
    def _undo_existing(self, event: Button.Pressed) -> None:
        event.stop()
        self.existing = None
        self._show_open_journey(None)
        self.query_one("#existing").display = False
        self.query_one("#person-fields").display = True
        self._update_age_warning()
        self.field("first_name").focus_control()

    @on(Button.Pressed, "#dups-someone-else")
    def _someone_else(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismissed_ids = self.dismissed_ids | frozenset(m.id for m in self.matches)
        self.call_later(self._show_matches, self.matches)
        self.field("locality").focus_control()

    # ------------------------------------------------------------ saving
    def collect(self) -> _Payload:
        referral_fields: tuple[str, ...] = (
            "received_date",
            "source",
            "referrer",
            "reason",
            "support_areas",
            "navigator",
            "risk_flag",
        )
        flagged = bool(self.field("risk_flag").value())
        if flagged:
            referral_fields += ("signposted_to",)
        if self.existing is not None and self.open_journey is not None:
            referral_fields += ("open_journey",)
        if self.existing is not None:
            v = self.values(*referral_fields)
            client = None
            client_id = self.existing.id
        else:
            v = self.values()
            client = J.ClientInput(
                first_name=v["first_name"],
                last_name=v["last_name"],
                date_of_birth=v["date_of_birth"],
                locality=v["locality"],
                postcode=v["postcode"],
                nhs_number=v["nhs_number"],
                phone=v["phone"],
                email=v["email"],
                address=v["address"],
                preferred_method=v["preferred_method"],
                imd_decile=v["imd_decile"],
                consent_to_share=v["consent_to_share"],
            )
            client_id = None
        allow = bool(self.matches) and frozenset(m.id for m in self.matches) <= self.dismissed_ids
        choice = v.get("open_journey")
        return _Payload(
            J.ReferralInput(
                received_date=v["received_date"],
                source=v["source"],
                client=client,
                client_id=client_id,
                navigator=v["navigator"],
                referrer=v["referrer"],
                reason=v["reason"],
                support_areas=tuple(v["support_areas"]),
                allow_duplicate=allow,
                risk_flag=flagged,
                signposted_to=v.get("signposted_to") if flagged else None,
                second_journey=choice == SECOND,
            ),
            attach_to=self.open_journey.journey_id if choice == ATTACH and self.open_journey is not None else None,
        )

    def save(self, payload: _Payload) -> JourneyRef:
        if payload.attach_to is not None:
            return OJ.attach_referral(self.ctx, payload.attach_to, payload.data)
        return J.receive_referral(self.ctx, payload.data)

    def on_save_error(self, payload: _Payload, exc: BaseException) -> Any:
        if isinstance(exc, DuplicatePerson) and payload.data.client is not None:
            return J.check_duplicates(self.ctx, payload.data.client)
        return None

    def after_failure(self, exc: BaseException, extra: Any) -> None:
        if isinstance(exc, OJ.OpenJourneyExists):  # found by the save: ask, as when the person was chosen
            self._show_open_journey(exc.open_journey)
            self.field("open_journey").focus_control()
            return
        if isinstance(exc, DuplicatePerson):
            self.dismissed_ids = frozenset()
            found = self._identity()
            self._dup_key = found[0] if found else None
            self.set_message(
                "Not saved: this person may already be known. Use the existing person, "
                "or say this is someone else, then save again."
            )

            async def show_and_focus() -> None:
                await self._show_matches(list(extra or []))
                buttons = self.query(".use-client")
                if buttons:
                    buttons.first().focus()

            self.call_later(show_and_focus)
