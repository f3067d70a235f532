"""Setting up the service: the admin screen.

One screen with a tab per area (keys 1-8 switch): Users, Reference data, Partners, Protocol,
Measures and the service's details, Calendar, Letters, Transfer (configuration export/import).
On every tab: ``a`` add, ``e`` edit (or rename), ``x`` retire / deactivate / remove (and back),
``p`` add a programme to the partner under the cursor, ``w`` load the SWEMWBS wording from a file.
Every change goes through the admin services, which refuse anyone but an admin and audit it.

The screen needs ``app.ctx`` (a services Ctx). It reads everything in one worker call and fills
plain DataTables; each change opens an ``EditDialog`` whose save runs the service in a thread.

This module is ~930 lines: one tab per kind of configuration (users, reference data, partners,
settings, letters, protocol), each a fill and its edit dialogs, over one loaded AdminData.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static, TabbedContent, TabPane

from navigator.domain.dates import parse_date
from navigator.domain.followups import Protocol
from navigator.services.casework import letters
from navigator.services.setup import admin as A
from navigator.services.setup import config_io
from navigator.tui.admin.dialogs import EditDialog, Field, InfoDialog, failure_text
from navigator.tui.widgets import PlainTable

if TYPE_CHECKING:
    from textual import getters

    from navigator.tui.app import NavigatorApp

TABS = ("users", "reference", "partners", "protocol", "measures", "calendar", "letters", "transfer")
TAB_TITLES = (
    "Users",
    "Reference data",
    "Partners",
    "Protocol",
    "Measures & service",
    "Calendar",
    "Letters",
    "Export / import",
)
METHODS = ("phone", "text", "email", "letter", "visit")


def read_text_file(typed_path: str) -> str:
    """A UTF-8 text file the admin named, or a DomainError on the path field saying what is wrong."""
    from navigator.domain.errors import DomainError

    path = Path(typed_path.strip()).expanduser()
    if not path.is_file():
        raise DomainError(f"There is no file at {path}.", field="path")
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise DomainError("The file is not UTF-8 text.", field="path") from None


@dataclass(frozen=True)
class AdminData:
    is_admin: bool
    users: tuple
    refs: tuple
    partners: tuple
    protocol: Protocol
    measures: A.MeasureSettings
    service: A.ServiceDetails
    calendar: tuple
    templates: tuple


def load_all(ctx) -> AdminData:
    actor = ctx.actor()
    users = A.list_users(ctx) if actor.is_team_lead else ()
    refs = tuple(r for kind in A.KIND_MODELS for r in A.list_reference(ctx, kind))
    return AdminData(
        actor.is_admin,
        users,
        refs,
        A.list_partners(ctx),
        A.get_protocol(ctx),
        A.measure_settings(ctx),
        A.service_details(ctx),
        A.list_calendar(ctx),
        letters.list_templates(ctx),
    )


def _status(active: bool, off: str = "retired") -> Text:
    return Text("active" if active else off, style="" if active else "dim")


class AdminScreen(Screen):
    SCREEN_NAME = "Setup"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("x", "retire", "Retire/back"),
        Binding("p", "add_programme", "Add programme"),
        Binding("w", "wording", "Load wording"),
        Binding("r", "reload", "Reload", show=False),
        *(Binding(str(i + 1), f"tab('{name}')", TAB_TITLES[i], show=False) for i, name in enumerate(TABS)),
    ]

    DEFAULT_CSS = """
    AdminScreen #admin-notice { height: auto; color: $warning; text-style: bold; padding: 0 1; }
    AdminScreen #admin-keys { height: auto; color: $text-muted; padding: 0 1; }
    AdminScreen DataTable { height: 1fr; }
    AdminScreen .tab-help { height: auto; color: $text-muted; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.data: AdminData | None = None

    if TYPE_CHECKING:
        app = getters.app(NavigatorApp)  # the type checker's view: screens run inside the navigator's app

    @property
    def ctx(self):
        return self.app.ctx

    # ---------------------------------------------------------------- layout
    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="admin-notice", markup=False)
        yield Static(
            "1-8 tabs · a add · e edit · x retire/deactivate/remove · p add programme · w load SWEMWBS wording",
            id="admin-keys",
            markup=False,
        )
        with TabbedContent(*TAB_TITLES, id="admin-tabs"):
            for name in TABS:
                with TabPane(TAB_TITLES[TABS.index(name)], id=f"tab-{name}"):
                    yield Static(TAB_HELP[name], classes="tab-help", markup=False)
                    yield PlainTable(id=f"t-{name}", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Set up the service"
        columns = {
            "users": ("username", "name", "role", "lots", "status"),
            "reference": ("kind", "code", "name", "lot", "status"),
            "partners": ("#", "partner / programme", "response", "localities", "status"),
            "protocol": ("setting", "value"),
            "measures": ("setting", "value"),
            "calendar": ("day", "", "is", "note"),
            "letters": ("template", "to", "wording"),
            "transfer": ("action", "what it does"),
        }
        for name, cols in columns.items():
            self.query_one(f"#t-{name}", DataTable).add_columns(*cols)
        self.action_reload()

    # ---------------------------------------------------------------- data
    def action_reload(self) -> None:
        ctx = self.ctx
        self.run_worker(lambda: self._load(ctx), thread=True, exclusive=True, group="admin-load", exit_on_error=False)

    def _load(self, ctx) -> None:
        try:
            data = load_all(ctx)
        except BaseException as exc:
            self.app.call_from_thread(self._load_failed, exc)
            return
        self.app.call_from_thread(self._fill, data)

    def _load_failed(self, exc: BaseException) -> None:
        self.query_one("#admin-notice", Static).update(failure_text(exc).replace("Not saved: ", ""))

    def _fill(self, d: AdminData) -> None:
        self.data = d
        self.query_one("#admin-notice", Static).update(
            ""
            if d.is_admin
            else "Only an admin can change the service's configuration: you can look, but every change will be refused."
        )

        def refill(name: str, rows: list[tuple[str, tuple]]) -> None:
            table = self.query_one(f"#t-{name}", DataTable)
            row = table.cursor_row
            table.clear()
            for key, cells in rows:
                table.add_row(*cells, key=key)
            if rows:
                table.move_cursor(row=min(max(row, 0), len(rows) - 1))

        refill(
            "users",
            [
                (
                    u.username,
                    (
                        Text(u.username),
                        Text(u.name),
                        u.role,
                        Text(", ".join(u.lots) or "all"),
                        _status(u.active, "deactivated"),
                    ),
                )
                for u in d.users
            ],
        )
        refill(
            "reference",
            [
                (
                    f"{r.kind}|{r.code}",
                    (A.KIND_LABELS[r.kind], Text(r.code), Text(r.name), Text(r.lot or ""), _status(r.active)),
                )
                for r in d.refs
            ],
        )
        prow = []
        for p in d.partners:
            prow.append(
                (
                    f"p|{p.id}",
                    ("", Text(p.name, style="bold"), "", Text(p.contact or "", style="dim"), _status(p.active)),
                )
            )
            for g in p.programmes:
                prow.append(
                    (
                        f"g|{g.id}",
                        (
                            str(g.id),
                            Text("  " + g.name),
                            f"{g.expected_response_days} wd",
                            Text(", ".join(g.localities) or "all"),
                            _status(g.active),
                        ),
                    )
                )
        refill("partners", prow)
        proto_rows = []
        for key, value in d.protocol.to_dict().items():
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value) or "-"
            elif isinstance(value, bool):
                value = "yes" if value else "no"
            proto_rows.append((key, (A.PROTOCOL_LABELS.get(key, key), Text(str(value)))))
        refill("protocol", proto_rows)
        m, s = d.measures, d.service
        refill(
            "measures",
            [
                ("service", ("Service name", Text(s.name))),
                ("service_phone", ("Service phone", Text(s.phone or "-"))),
                ("service_email", ("Service email", Text(s.email or "-"))),
                ("service_address", ("Service address", Text((s.address or "-").replace("\n", ", ")))),
                ("threshold", ("SWEMWBS meaningful change", f"{A.threshold_text(m.threshold)} metric points")),
                ("ons4", ("ONS4 second measure", "on" if m.ons4_enabled else "off")),
                (
                    "wording",
                    (
                        "SWEMWBS wording",
                        Text(
                            ("configured: " + (m.wording.copyright or ""))
                            if m.wording.configured
                            else "not configured (w to load)"
                        ),
                    ),
                ),
            ],
        )
        refill(
            "calendar",
            [
                (
                    r.day.isoformat(),
                    (
                        r.day.isoformat(),
                        r.day.strftime("%a"),
                        "working" if r.is_working_day else "non-working",
                        Text(r.note or ""),
                    ),
                )
                for r in d.calendar
            ],
        )
        refill(
            "letters",
            [(t.name, (t.title, t.recipient, "customised" if t.customised else "built-in")) for t in d.templates],
        )
        refill(
            "transfer",
            [
                ("export", ("Export (e)", "write the whole configuration to a TOML file")),
                ("import", ("Import (a)", "apply a configuration TOML file (dry run first)")),
            ],
        )

    # ---------------------------------------------------------------- helpers
    @property
    def tab(self) -> str:
        return self.query_one("#admin-tabs", TabbedContent).active.removeprefix("tab-")

    def current_key(self) -> str | None:
        table = self.query_one(f"#t-{self.tab}", DataTable)
        if table.row_count == 0:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except Exception:
            return None

    def open(
        self,
        title: str,
        fields: list[Field],
        save: Callable[[dict], Any],
        *,
        intro: str = "",
        save_label: str = "Save",
        after: Callable[[Any], None] | None = None,
    ) -> None:
        def done(result) -> None:
            if result is None:
                return
            self.action_reload()
            if after is not None:
                after(result)
            notify = getattr(self.app, "data_changed", None)
            if callable(notify):
                notify(None)

        self.app.push_screen(EditDialog(title, fields, save, intro=intro, save_label=save_label), done)

    def action_tab(self, name: str) -> None:
        self.query_one("#admin-tabs", TabbedContent).active = f"tab-{name}"
        self.query_one(f"#t-{name}", DataTable).focus()

    def _lot_options(self) -> list[tuple[str, str]]:
        return [
            (f"{r.code}: {r.name}", r.code)
            for r in (self.data.refs if self.data else ())
            if r.kind == "lot" and r.active
        ]

    def _locality_options(self) -> list[tuple[str, str]]:
        return [
            (f"{r.name} ({r.lot})", r.name)
            for r in (self.data.refs if self.data else ())
            if r.kind == "locality" and r.active
        ]

    def _find(self, rows, pred):
        return next((r for r in rows if pred(r)), None)

    # ---------------------------------------------------------------- actions
    def action_add(self) -> None:
        getattr(self, f"add_{self.tab}", self._nothing)()

    def action_edit(self) -> None:
        getattr(self, f"edit_{self.tab}", self._nothing)()

    def action_retire(self) -> None:  # x: retire, deactivate or remove, or bring back (DOMNode has action_toggle)
        getattr(self, f"toggle_{self.tab}", self._nothing)()

    def _nothing(self) -> None:
        self.notify("Nothing to do here with that key: see the line under the tabs.", severity="warning")

    # -- users
    def add_users(self) -> None:
        ctx = self.ctx
        self.open(
            "Add a user",
            [
                Field(
                    "username",
                    "Username",
                    placeholder="j.smith",
                    help="Their login name on this computer: lowercase letters, digits, . _ -",
                ),
                Field("name", "Full name"),
                Field(
                    "role",
                    "Role",
                    "select",
                    "navigator",
                    [("Navigator", "navigator"), ("Team lead", "team_lead"), ("Admin", "admin")],
                ),
                Field("lots", "Lots", "multi", (), self._lot_options(), help="None: all lots."),
            ],
            lambda v: A.add_user(ctx, v["username"].strip(), v["name"], v["role"], v["lots"]),
        )

    def edit_users(self) -> None:
        key = self.current_key()
        u = self._find(self.data.users if self.data else (), lambda r: r.username == key)
        if u is None:
            return self._nothing()
        ctx = self.ctx
        self.open(
            f"Edit {u.username}",
            [
                Field("name", "Full name", value=u.name),
                Field(
                    "role",
                    "Role",
                    "select",
                    u.role,
                    [("Navigator", "navigator"), ("Team lead", "team_lead"), ("Admin", "admin")],
                ),
                Field("lots", "Lots", "multi", u.lots, self._lot_options(), help="None: all lots."),
            ],
            lambda v: A.edit_user(ctx, u.username, name=v["name"], role=v["role"], lots=v["lots"]),
        )

    def toggle_users(self) -> None:
        key = self.current_key()
        u = self._find(self.data.users if self.data else (), lambda r: r.username == key)
        if u is None:
            return self._nothing()
        ctx = self.ctx
        if u.active:

            def save(_v):
                A.deactivate_user(ctx, u.username)
                return A.open_journeys_of(ctx, u.username)

            def after(rows) -> None:
                if rows:
                    self.app.push_screen(
                        InfoDialog(
                            f"{u.username} is deactivated. Their open journeys, to reassign (Caseload):",
                            [
                                f"#{r.journey_id}  {r.client_ref}  {r.client_name}  {r.state_label}  "
                                f"received {r.received_date.isoformat()}  {r.locality}"
                                for r in rows
                            ],
                        )
                    )
                else:
                    self.notify(f"{u.username} is deactivated; they had no open journeys.", markup=False)

            self.open(
                f"Deactivate {u.username}?",
                [],
                save,
                save_label="Deactivate",
                after=after,
                intro=f"{u.name} will no longer be able to open the store. Their open journeys are "
                "listed next, for reassignment.",
            )
        else:
            self.open(
                f"Reactivate {u.username}?",
                [],
                lambda _v: A.reactivate_user(ctx, u.username),
                save_label="Reactivate",
                intro=f"{u.name} will be able to open the store again.",
            )

    # -- reference data
    def add_reference(self) -> None:
        ctx = self.ctx
        kinds = [(A.KIND_LABELS[k].capitalize(), k) for k in A.KIND_MODELS]
        key = self.current_key()
        kind = key.split("|")[0] if key else "source"
        self.open(
            "Add reference data",
            [
                Field("kind", "Kind", "select", kind, kinds),
                Field(
                    "code",
                    "Code (a locality: its name)",
                    help="Lowercase letters, digits and _ for sources, areas and outcomes; it never changes.",
                ),
                Field("name", "Name people read (not for a locality)"),
                Field("lot", "Lot (a locality only)", "select", None, self._lot_options()),
            ],
            lambda v: A.add_reference(
                ctx, v["kind"], v["code"], v["name"] or None, lot=v["lot"] if v["kind"] == "locality" else None
            ),
        )

    def _selected_reference(self):
        """(kind, code, row) of the reference-data row under the cursor, or None."""
        key = self.current_key()
        if not key:
            return None
        kind, code = key.split("|", 1)
        assert self.data is not None  # the table's rows come from it
        return kind, code, self._find(self.data.refs, lambda r: r.kind == kind and r.code == code)

    def edit_reference(self) -> None:
        selected = self._selected_reference()
        if selected is None:
            return self._nothing()
        kind, code, row = selected
        ctx = self.ctx
        self.open(
            f"Rename {A.KIND_LABELS[kind]} {row.code}",
            [Field("name", "New name", value=row.name)],
            lambda v: A.rename_reference(ctx, kind, code, v["name"]),
            intro="The label only: journeys keep their meaning, past returns keep the names they were sent with.",
        )

    def toggle_reference(self) -> None:
        selected = self._selected_reference()
        if selected is None:
            return self._nothing()
        kind, code, row = selected
        ctx = self.ctx
        if row.active:
            self.open(
                f"Retire {A.KIND_LABELS[kind]} {row.name}?",
                [],
                lambda _v: A.retire_reference(ctx, kind, code),
                save_label="Retire",
                intro="No longer offered for new records; kept for history.",
            )
        else:
            self.open(
                f"Bring back {A.KIND_LABELS[kind]} {row.name}?",
                [],
                lambda _v: A.unretire_reference(ctx, kind, code),
                save_label="Bring back",
            )

    # -- partners and programmes
    def _partner_and_programme(self):
        key = self.current_key()
        if not key or not self.data:
            return None, None
        kind, ident = key.split("|")
        for p in self.data.partners:
            if kind == "p" and p.id == int(ident):
                return p, None
            for g in p.programmes:
                if kind == "g" and g.id == int(ident):
                    return p, g
        return None, None

    def _programme_fields(self, g=None) -> list[Field]:
        default_days = (
            g.expected_response_days if g else (self.data.protocol.partner_response_days if self.data else 10)
        )
        return [
            Field("name", "Programme name", value=g.name if g else None),
            Field(
                "localities",
                "Localities served",
                "multi",
                g.localities if g else (),
                self._locality_options(),
                help="None: every locality.",
            ),
            Field("days", "Expected response (working days)", "int", default_days),
            Field("eligibility", "Eligibility notes", "textarea", g.eligibility_notes if g else ""),
            Field("contact", "Contact details for referrals", "textarea", g.contact if g else ""),
        ]

    def add_partners(self) -> None:
        ctx = self.ctx
        self.open(
            "Add a delivery partner",
            [
                Field("name", "Partner name"),
                Field("contact", "Contact details", "textarea", ""),
            ],
            lambda v: A.add_partner(ctx, v["name"], v["contact"] or None),
            intro="Then add its programmes with p.",
        )

    def action_add_programme(self) -> None:
        if self.tab != "partners":
            return self._nothing()
        p, _g = self._partner_and_programme()
        if p is None:
            return self._nothing()
        ctx = self.ctx
        self.open(
            f"Add a programme to {p.name}",
            self._programme_fields(),
            lambda v: A.add_programme(
                ctx,
                p.id,
                v["name"],
                localities=v["localities"],
                eligibility_notes=v["eligibility"] or None,
                expected_response_days=v["days"],
                contact=v["contact"] or None,
            ),
        )

    def edit_partners(self) -> None:
        p, g = self._partner_and_programme()
        if p is None:
            return self._nothing()
        ctx = self.ctx
        if g is None:
            self.open(
                f"Edit {p.name}",
                [
                    Field("name", "Partner name", value=p.name),
                    Field("contact", "Contact details", "textarea", p.contact or ""),
                ],
                lambda v: A.edit_partner(ctx, p.id, name=v["name"], contact=v["contact"]),
            )
        else:
            self.open(
                f"Edit {p.name}: {g.name}",
                self._programme_fields(g),
                lambda v: A.edit_programme(
                    ctx,
                    g.id,
                    name=v["name"],
                    localities=v["localities"],
                    eligibility_notes=v["eligibility"],
                    expected_response_days=v["days"],
                    contact=v["contact"],
                ),
                intro="A new response period applies to chases scheduled after the change.",
            )

    def toggle_partners(self) -> None:
        p, g = self._partner_and_programme()
        if p is None:
            return self._nothing()
        ctx = self.ctx
        if g is None:
            verb = "Retire" if p.active else "Bring back"
            self.open(
                f"{verb} {p.name}?",
                [],
                lambda _v: A.retire_partner(ctx, p.id, retired=p.active),
                save_label=verb,
                intro="A retired partner's programmes are no longer offered; past onward referrals keep them.",
            )
        else:
            verb = "Retire" if g.active else "Bring back"
            self.open(
                f"{verb} {p.name}: {g.name}?",
                [],
                lambda _v: A.retire_programme(ctx, g.id, retired=g.active),
                save_label=verb,
            )

    # -- protocol
    def edit_protocol(self) -> None:
        if not self.data:
            return
        pr = self.data.protocol
        ctx = self.ctx

        def save(v):
            gaps = [int(x) for x in v["gaps"].replace(" ", "").split(",") if x] if v["gaps"].strip() else []
            methods = [m.strip().lower() for m in v["methods"].split(",") if m.strip()]
            return A.set_protocol(
                ctx,
                attempts=v["attempts"],
                first_within=v["first_within"],
                gaps=gaps,
                methods=methods,
                opt_in_days=v["opt_in_days"],
                notify_referrer=v["notify_referrer"],
                decide_within=v["decide_within"],
                review_every=v["review_every"],
                partner_response_days=v["partner_response_days"],
                chase_limit=v["chase_limit"],
                auto_close_no_response=v["auto_close_no_response"],
            )

        def checked(v):
            try:
                return save(v)
            except ValueError:
                from navigator.domain.errors import DomainError

                raise DomainError(
                    "Give the gaps as whole numbers separated by commas, e.g. 2,2.", field="gaps"
                ) from None

        self.open(
            "No-response protocol",
            [
                Field("attempts", "Contact attempts", "int", pr.attempts),
                Field("first_within", "Attempt 1 within (working days of receipt)", "int", pr.first_within),
                Field(
                    "gaps",
                    "Gaps between attempts (working days, comma-separated)",
                    value=", ".join(map(str, pr.gaps)),
                    help="One fewer than the attempts.",
                ),
                Field(
                    "methods",
                    "Method per attempt (comma-separated)",
                    value=", ".join(pr.methods),
                    help="One per attempt: " + ", ".join(METHODS) + ".",
                ),
                Field("opt_in_days", "Opt-in period after the last attempt (working days)", "int", pr.opt_in_days),
                Field("notify_referrer", "Closure notifies the referrer", "bool", pr.notify_referrer),
                Field("decide_within", "Decision due (working days after first contact)", "int", pr.decide_within),
                Field("review_every", "Plan review every (working days)", "int", pr.review_every),
                Field(
                    "partner_response_days", "Default partner response (working days)", "int", pr.partner_response_days
                ),
                Field(
                    "chase_limit",
                    "Tell the team lead after this many unanswered partner chases",
                    "int",
                    pr.chase_limit,
                ),
                Field(
                    "auto_close_no_response",
                    "Close for no response automatically when the opt-in period ends",
                    "bool",
                    pr.auto_close_no_response,
                    help="Off: Today's 'close all due' closes them. Never a journey at risk.",
                ),
            ],
            checked,
            intro="Applies to follow-ups scheduled after the change: those already due keep their dates.",
        )

    add_protocol = edit_protocol

    # -- measures and the service's details
    def edit_measures(self) -> None:
        key = self.current_key() or ""
        if not self.data:
            return
        ctx = self.ctx
        if key.startswith("service"):
            s = self.data.service
            self.open(
                "The service's details (used in letters)",
                [
                    Field("name", "Service name", value=s.name),
                    Field("phone", "Phone", value=s.phone or ""),
                    Field("email", "Email", value=s.email or ""),
                    Field("address", "Postal address", "textarea", s.address or ""),
                ],
                lambda v: A.set_service_details(ctx, **v),
            )
        elif key == "threshold":
            self.open(
                "SWEMWBS meaningful change",
                [
                    Field(
                        "value",
                        "Threshold (metric points)",
                        value=A.threshold_text(self.data.measures.threshold),
                        help="Commonly 3 (studies put it between 1 and 3).",
                    ),
                ],
                lambda v: A.set_threshold(ctx, v["value"]),
            )
        elif key == "ons4":
            self.open(
                "ONS4",
                [Field("on", "Record ONS4 as a second, optional measure", "bool", self.data.measures.ons4_enabled)],
                lambda v: A.set_ons4(ctx, v["on"]),
            )
        elif key == "wording":
            self.action_wording()

    def action_wording(self) -> None:
        ctx = self.ctx

        def save(v):
            return A.load_wording(ctx, read_text_file(v["path"]))

        self.open(
            "Load the SWEMWBS wording",
            [Field("path", "File", placeholder="/path/to/swemwbs-wording.txt")],
            save,
            intro=A.WORDING_FORMAT,
            save_label="Load",
        )

    # -- calendar
    def add_calendar(self) -> None:
        ctx = self.ctx

        def save(v):
            day = parse_date(v["day"], today=ctx.today(), field="day", relative=False)
            if day is None:
                from navigator.domain.errors import DomainError

                raise DomainError("Give the day, e.g. 2026-05-08.", field="day")
            return A.set_calendar_day(ctx, day, working=v["is"] == "working", note=v["note"] or None) or True

        self.open(
            "Calendar correction",
            [
                Field("day", "Day", placeholder="YYYY-MM-DD or DD/MM/YYYY"),
                Field(
                    "is",
                    "It is",
                    "select",
                    "non-working",
                    [("An extra non-working day", "non-working"), ("A working day after all", "working")],
                ),
                Field("note", "Note", placeholder="e.g. Extra bank holiday"),
            ],
            save,
            intro="Working days are Monday to Friday less England and Wales bank holidays.",
        )

    def toggle_calendar(self) -> None:
        key = self.current_key()
        if not key:
            return self._nothing()
        from datetime import date

        ctx = self.ctx
        day = date.fromisoformat(key)

        def remove(_v) -> bool:
            A.remove_calendar_day(ctx, day)
            return True

        self.open(f"Remove the correction on {key}?", [], remove, save_label="Remove")

    # -- letters
    def edit_letters(self) -> None:
        key = self.current_key()
        t = self._find(self.data.templates if self.data else (), lambda r: r.name == key)
        if t is None:
            return self._nothing()
        ctx = self.ctx
        fields = ", ".join("{" + f + "}" for f in t.fields)
        self.open(
            f"{t.title} (to {t.recipient})",
            [Field("text", "Wording", "textarea", t.text)],
            lambda v: letters.set_template(ctx, t.name, v["text"]),
            intro=f"Fields it may use: {fields}. Write {{{{ or }}}} for a brace. A line whose fields are all "
            "empty is left out.",
        )

    def toggle_letters(self) -> None:
        key = self.current_key()
        t = self._find(self.data.templates if self.data else (), lambda r: r.name == key)
        if t is None:
            return self._nothing()
        ctx = self.ctx
        self.open(
            f"Reset {t.title} to the built-in wording?",
            [],
            lambda _v: letters.reset_template(ctx, t.name),
            save_label="Reset",
        )

    # -- export / import
    def edit_transfer(self) -> None:
        ctx = self.ctx

        def save(v):
            from navigator.domain.errors import DomainError

            path = Path(v["path"].strip()).expanduser()
            if not v["path"].strip() or path.is_dir():
                raise DomainError("Give the name of the file to write.", field="path")
            if path.exists() and not v["force"]:
                raise DomainError(f"{path} already exists: tick 'Overwrite' or choose another name.", field="path")
            if not path.parent.exists():
                raise DomainError(f"The folder {path.parent} does not exist.", field="path")
            text_ = config_io.export_config(ctx)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text_)
            return path

        self.open(
            "Export the configuration",
            [
                Field("path", "File to write", placeholder="navigator-config.toml"),
                Field("force", "Overwrite the file if it exists", "bool", False),
            ],
            save,
            save_label="Export",
            after=lambda p: self.notify(f"Configuration written to {p}.", markup=False),
        )

    def add_transfer(self) -> None:
        ctx = self.ctx

        def save(v):
            from navigator.domain.errors import DomainError, ValidationErrors

            text_ = read_text_file(v["path"])
            try:
                return config_io.import_config(ctx, text_, dry_run=v["dry_run"])
            except ValidationErrors as exc:
                raise DomainError(
                    f"{len(exc.errors)} problem(s), nothing imported: "
                    + "; ".join(f"{k}: {m}" for k, m in exc.errors.items()),
                    field="path",
                ) from None

        def after(report) -> None:
            head = "Would change (dry run, nothing saved)" if report.dry_run else "Imported"
            self.app.push_screen(
                InfoDialog(f"{head}: {len(report.changes)} change(s)", list(report.changes) or ["Nothing to change."])
            )

        self.open(
            "Import a configuration file",
            [
                Field("path", "File", placeholder="navigator-config.toml"),
                Field("dry_run", "Dry run: only say what would change", "bool", True),
            ],
            save,
            save_label="Import",
            after=after,
            intro="Adds and updates by name or code, never deletes; checked whole first, all or nothing.",
        )

    toggle_transfer = add_transfer


TAB_HELP = {
    "users": "a add · e edit name, role, lots · x deactivate (lists their open journeys) / reactivate",
    "reference": "a add · e rename (label only) · x retire / bring back",
    "partners": "a add partner · p add programme · e edit the row · x retire / bring back",
    "protocol": "e edit the no-response protocol (applies to follow-ups scheduled after it)",
    "measures": "e edit the row · w load the SWEMWBS wording from the licensed text file",
    "calendar": "a add a correction · x remove it",
    "letters": "e edit the wording · x back to the built-in wording",
    "transfer": "e export to a file · a import a file (dry run first)",
}
