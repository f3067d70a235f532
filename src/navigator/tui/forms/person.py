"""The person: editing their details (with a version check), and opening them with a reason."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding

from navigator.domain.errors import DomainError
from navigator.domain.identifiers import (
    format_nhs_number,
    normalise_nhs_number,
    normalise_phone,
    normalise_postcode,
)
from navigator.services.casework import journeys as J
from navigator.services.casework import queries
from navigator.services.dto import ClientDetail, ReferenceData
from navigator.services.setup import reference as setup
from navigator.tui.forms.base import FormScreen
from navigator.tui.forms.fields import CheckField, DateField, SelectField, TextField
from navigator.tui.forms.referral import (
    METHOD_OPTIONS,
    parse_decile,
    parse_email,
    show_nhs,
)

PERSON_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "nhs_number",
    "locality",
    "postcode",
    "phone",
    "email",
    "address",
    "preferred_method",
    "imd_decile",
    "consent_to_share",
)


@dataclass(frozen=True)
class _ClientData:
    client: ClientDetail
    ref: ReferenceData


class ClientEditForm(FormScreen[int]):
    """The person's details. Saved only if nobody changed them meanwhile. Dismisses with the client id."""

    TITLE = "The person's details"
    BINDINGS = [Binding("ctrl+r", "reload_person", "Reload (drops your changes)")]

    def __init__(self, ctx, client_id: int) -> None:
        super().__init__(ctx)
        self.client_id = client_id
        self.client: ClientDetail | None = None

    def compose_fields(self) -> ComposeResult:
        clock = self.clock
        yield TextField("first_name", "First name", required=True, max_len=100)
        yield TextField("last_name", "Last name", required=True, max_len=100)
        yield DateField("date_of_birth", "Date of birth", clock, value=None, relative=False)
        yield TextField(
            "nhs_number", "NHS number", placeholder="10 digits", parse=normalise_nhs_number, show=show_nhs, max_len=14
        )
        yield SelectField("locality", "Locality", required=True, prompt="Choose the locality…")
        yield TextField("postcode", "Postcode", parse=self._postcode, show=self._shown("postcode"), max_len=10)
        yield TextField("phone", "Phone", max_len=40, parse=self._phone, show=self._shown("phone"))
        yield TextField("email", "Email", parse=parse_email)
        yield TextField("address", "Address", max_len=400)
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

    # A postcode or phone number saved before they were checked (issue 15) is shown and kept as it is
    # while it is not changed, so it never blocks an edit of something else; a changed one is checked.
    def _as_saved(self, name: str) -> str | None:
        return getattr(self.client, name, None) if self.client is not None else None

    def _postcode(self, text: str) -> str | None:
        return text if text == self._as_saved("postcode") else normalise_postcode(text)

    def _phone(self, text: str) -> str | None:
        return text if text == self._as_saved("phone") else normalise_phone(text)

    def _shown(self, name: str):
        def show(value: str) -> str:
            if value == self._as_saved(name):
                try:
                    (normalise_postcode if name == "postcode" else normalise_phone)(value)
                except DomainError:
                    return "As saved before it was checked: kept unless you change it"
            return value

        return show

    def load(self) -> _ClientData:
        jid = queries.journey_id_for(self.ctx, client_id=self.client_id)
        detail = queries.journey_detail(self.ctx, jid, audit_view=False)
        return _ClientData(detail.client, setup.reference(self.ctx))

    def apply(self, data: _ClientData) -> None:
        c = data.client
        first_load = self.client is None
        self.client = c
        self.set_context(
            f"{c.client_ref} · {c.locality} ({c.lot}) · saved only if nobody changed it since you opened it"
        )
        loc = self.field("locality")
        assert isinstance(loc, SelectField)
        loc.set_options([(f"{x.name} ({x.lot_code})", x.id) for x in data.ref.localities])
        values = {
            "first_name": c.first_name,
            "last_name": c.last_name,
            "date_of_birth": c.date_of_birth.isoformat(),
            "nhs_number": format_nhs_number(c.nhs_number),
            "postcode": c.postcode or "",
            "phone": c.phone or "",
            "email": c.email or "",
            "address": c.address or "",
            "imd_decile": str(c.imd_decile) if c.imd_decile is not None else "",
        }
        for name, text in values.items():
            self.field(name).text = text  # type: ignore[attr-defined]
        loc.selected = c.locality_id
        method = self.field("preferred_method")
        assert isinstance(method, SelectField)
        method.selected = c.preferred_method
        self.field("consent_to_share").control.value = c.consent_to_share  # type: ignore[attr-defined]
        if not first_load:
            self.set_message("Reloaded: these are the details as saved now.", info=True)

    def action_reload_person(self) -> None:
        if not self.saving:
            self.reload()

    def collect(self) -> J.ClientInput:
        v = self.values()
        return J.ClientInput(
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

    def save(self, data: J.ClientInput) -> int:
        assert self.client is not None
        J.update_client(self.ctx, self.client_id, data, expected_version=self.client.version)
        return self.client_id


def parse_reason(text: str) -> str:
    if len(text.strip()) < 5:
        raise DomainError("Say why you need to open this record (a few words).")
    return text.strip()


class FindReasonForm(FormScreen[int]):
    """Why you are opening a person outside your caseload (recorded). Dismisses with the client id."""

    TITLE = "Open a person outside your caseload"
    FORM_HEIGHT = 12
    SAVE_LABEL = "Open"

    def __init__(self, ctx, client_id: int) -> None:
        super().__init__(ctx)
        self.client_id = client_id

    def compose_fields(self) -> ComposeResult:
        yield TextField(
            "reason",
            "Reason",
            required=True,
            max_len=400,
            parse=parse_reason,
            placeholder="e.g. covering for a colleague on leave",
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.set_context("This person is not in your caseload. Your reason is recorded in the audit log.")

    def save(self, v: dict) -> int:
        queries.open_with_reason(self.ctx, self.client_id, v["reason"])
        return self.client_id
