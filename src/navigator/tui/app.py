"""The navigator's desk: the Textual app shell.

Screens: Today (first), Caseload, Find, Journey, Help; forms (``navigator.tui.forms``) are
modal screens pushed over them. Global keys: ``t`` Today, ``l`` Caseload, ``f``/``/`` Find,
``n`` new referral, ``?`` help, ``ctrl+p`` command palette, ``q`` quit, ``escape`` back. Team leads
and admins also have ``T`` Team, ``W`` Waiting and stuck, ``R`` Trends, ``P`` Partners and ``M``
Return preview (TEAM_SCREENS).

After a form saves, the app broadcasts ``DataChanged`` (``data_changed``) so every screen
showing store data reloads at once.

This module is ~600 lines: the app's key routing (type-ahead held and replayed in order) and its
screens, palette and background work belong together; each piece needs the others' state.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar, Protocol

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Input, OptionList, Select, TextArea

from navigator.domain.errors import AccessDenied, DomainError, StoreError
from navigator.tui.compat import QuietFatalErrors, own_bindings, propagation_stopped
from navigator.tui.messages import DataChanged
from navigator.tui.widgets import NeverRawControls, describe_error, shown

NAV_ACTIONS = frozenset({"today", "caseload", "find", "new_referral", "back", "setup"})


APP_REPLAYED = "_navigator_app_replayed"  # a key the app held and replays (App.release_keys)
TEXT_ENTRY = (Input, TextArea)  # a focused one takes letters as text, never as a screen's binding
LISTS = (OptionList, DataTable)  # their enter selects the highlighted row


def _caseload_screen() -> Screen:  # the screens' modules are imported when first shown
    from navigator.tui.screens.caseload import CaseloadScreen

    return CaseloadScreen()


def _find_screen() -> Screen:
    from navigator.tui.screens.find import FindScreen

    return FindScreen()


def _team_screen() -> type[Screen]:
    from navigator.tui.screens.team import TeamScreen

    return TeamScreen


def _stuck_screen() -> type[Screen]:
    from navigator.tui.screens.stuck import StuckScreen

    return StuckScreen


def _trends_screen() -> type[Screen]:
    from navigator.tui.screens.trends import TrendsScreen

    return TrendsScreen


def _partners_screen() -> type[Screen]:
    from navigator.tui.screens.partners import PartnersScreen

    return PartnersScreen


def _lot_today_screen() -> type[Screen]:  # issue 15: every navigator's Today in one list
    from navigator.tui.screens.lot_today import LotTodayScreen

    return LotTodayScreen


def _return_preview_screen() -> type[Screen]:
    from navigator.tui.screens.return_preview import ReturnPreviewScreen

    return ReturnPreviewScreen


def loaded_forms() -> Any:
    """The form framework's module once it has been imported in full; None before (no form was opened
    yet). The background warm-up may be importing it in another thread at this moment: a module half
    imported is in sys.modules already, without the names defined below the line being run, so it
    counts only once its last line has run."""
    forms = sys.modules.get("navigator.tui.forms.base")
    return forms if getattr(forms, "IMPORTED", False) else None


def confirm_discard(app: App, then: Callable[[], Any], *, leaving: str = "quit") -> bool:
    """True (and asks, running ``then`` on discard) when a form with changes would be left behind."""
    forms = loaded_forms()
    return forms is not None and forms.confirm_discard(app, then, leaving=leaving)


# Team leads' screens (team leads and admins; their services refuse navigators):
# (name, key, title, what it shows, the screen's class: imported when first asked for, not at start-up)
TEAM_SCREENS: tuple[tuple[str, str, str, str, Callable[[], type[Screen]]], ...] = (
    ("team", "T", "Team", "Load per navigator; open a caseload, reassign", _team_screen),
    ("stuck", "W", "Waiting and stuck", "Waiting to start, no partner update, reviews overdue", _stuck_screen),
    (
        "trends",
        "R",
        "Trends",
        "Referrals, starts, completions, no-response closures, waits by month",
        _trends_screen,
    ),
    ("partners", "P", "Partners", "Onward referrals per partner and programme", _partners_screen),
    ("return_preview", "M", "Return preview", "The monthly return before it is exported", _return_preview_screen),
    ("lot_today", "L", "Due in my lots", "Every navigator's Today in one list", _lot_today_screen),
)


class NavigatorCommands(Provider):
    """Command palette: every screen, and every action of the screen it was opened from."""

    def _commands(self) -> Iterable[tuple[str, Callable[[], Any], str]]:
        app = self.app
        if not isinstance(app, NavigatorApp) or app.ctx is None:
            return
        screen = self.screen
        yield "Go to Today", partial(app.run_action, "today"), "What is due or overdue for me (t)"
        yield "Go to Caseload", partial(app.run_action, "caseload"), "My journeys, filter and sort (l)"
        yield "Find a person", partial(app.run_action, "find"), "By name, ref, date of birth, postcode, NHS number (f)"
        yield "New referral", partial(app.run_action, "new_referral"), "Record a referral (n)"
        yield "Help: keys on this screen", partial(app.run_action, "help"), "Every binding of this screen (?)"
        yield (  # the setup screen: its services refuse non-admins
            "Set up the service (admin)",
            partial(app.run_action, "setup"),
            "Users, reference data, partners, protocol, measures, calendar, letters (A)",
        )
        if app.is_team_lead():
            for name, key, title, what, _screen in TEAM_SCREENS:
                yield f"Team lead: {title}", partial(app.run_action, f"team_screen('{name}')"), f"{what} ({key})"
        seen: set[str] = set()
        for _key, binding in screen_bindings(screen):
            if binding.action in seen or not binding.description:
                continue
            if screen.check_action(binding.action, ()) is not True:
                continue
            seen.add(binding.action)
            yield (
                f"{screen_name(screen)}: {binding.description}",
                partial(app.call_later, screen.run_action, binding.action),
                f"key {app.get_key_display(binding)}",
            )

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)


def screen_name(screen: Screen) -> str:
    return getattr(screen, "SCREEN_NAME", None) or type(screen).__name__.removesuffix("Screen")


_BASE_SCREEN_ACTIONS = frozenset(b.action for b in Screen.BINDINGS if isinstance(b, Binding))


def screen_bindings(screen: Screen):
    """(key, Binding) pairs a screen defines itself (not its widgets', not the app's, not Screen's own)."""
    for key, binding in own_bindings(screen):
        if binding.system or binding.action in _BASE_SCREEN_ACTIONS:
            continue
        yield key, binding


class BackgroundJob(Protocol):
    """Work going on in another process (services/operations/daily_backup.py DailyBackupJob)."""

    def poll(self) -> bool: ...  # finished?

    def warning(self) -> str | None: ...


AfterStart = Callable[[], "str | BackgroundJob | None"]


class NavigatorApp(QuietFatalErrors, App[int]):
    """The desk. ``NavigatorApp(ctx)``; ``NavigatorApp(None, error=message)`` shows only the error."""

    TITLE = "navigator"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {NavigatorCommands}
    SCREENS: ClassVar[dict[str, Callable[[], Screen]]] = {"caseload": _caseload_screen, "find": _find_screen}

    BINDINGS = [
        Binding("t", "today", "Today", tooltip="What is due or overdue for me"),
        Binding("l", "caseload", "Caseload", tooltip="My journeys"),
        Binding("f", "find", "Find", tooltip="Find any person I may see"),
        Binding("slash", "find", "Find", show=False),
        Binding("n", "new_referral", "New referral"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("A", "setup", "Set up the service", show=False),
        *(Binding(key, f"team_screen('{name}')", title, show=False) for name, key, title, *_ in TEAM_SCREENS),
        Binding("q", "quit", "Quit"),
        Binding("escape", "back", "Back", show=False),
    ]

    def __init__(
        self,
        ctx,
        error: str | None = None,
        *,
        after_start: AfterStart | None = None,
        freeze_gc: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.ctx = ctx
        self.error = error if ctx is None else None
        if ctx is None and not self.error:
            self.error = "No store is open."
        self.data_generation = 0
        # run in the background once the first screen shows its data (the daily backup); returns a warning
        self.after_start = after_start
        self.background_started = False
        # what forms read and the app keeps (read after the first frame, and by each form's load), so a
        # form starts filled on its first frame: the reference data and the measure settings
        self.kept_reference: Any = None
        self.kept_measures: Any = None
        # a process running only this app (run_app): once warmed up, what is loaded stays out of the cyclic
        # collector's sight (gc.freeze), so full collections stop pausing screens (tests leave it off)
        self.freeze_gc = freeze_gc
        self.opening = False  # a journey is being opened: keys typed meanwhile wait for it
        self.held_keys: list[events.Key] = []
        self.keys_in_flight: list[tuple[events.Key, Widget]] = []  # sent to a widget, not back at the app yet
        # issue 15: Today closes the journeys due for no-response closure once its first list is shown (when the
        # protocol says it is automatic); run_app turns it on, tests that drive the app choose
        self.close_due_on_start = False

    # ---------------------------------------------------------------- screens
    def get_default_screen(self) -> Screen:
        if self.ctx is None:
            from navigator.tui.screens.error import ErrorScreen

            return ErrorScreen(self.error or "")
        from navigator.tui.screens.today import TodayScreen

        return TodayScreen()

    def on_mount(self) -> None:
        from navigator.tui import themes

        themes.on_mount(self)  # the high-contrast theme; the person's saved theme (run_app)
        if self.ctx is not None:
            self.set_timer(3, self.first_data_shown)  # in case the first screen has no data to show

    # ---------------------------------------------------------------- what is shown
    def format_title(self, title: str, sub_title: str) -> Content:
        """The header: 'navigator — <screen>', and, with ``--as``, who the user is acting as, on every screen."""
        content = super().format_title(shown(title), shown(sub_title))
        acting_as = getattr(self.ctx, "acting_as", None) if self.ctx is not None else None
        if acting_as:
            content = Content.assemble(
                content, (" — ", "dim"), (f"acting as {shown(self.ctx.username)} (by {shown(acting_as)})", "bold")
            )
        return content

    def notify(self, message: str, *, title: str = "", markup: bool = False, **kwargs) -> None:
        """Notifications are plain text: they may quote what a person typed (never read as markup)."""
        super().notify(shown(message), title=shown(title), markup=False, **kwargs)

    def get_line_filters(self):
        return [*super().get_line_filters(), self._never_raw]

    _never_raw = NeverRawControls()

    def first_data_shown(self) -> None:
        """The first screen shows its data: now warm what the other screens need, and run ``after_start``,
        in a thread, so that the first frame waited for neither."""
        if self.background_started or self.ctx is None:
            return
        self.background_started = True
        # a daemon thread, not a worker: quitting never waits for the warm-up (the interpreter joins a
        # worker's thread at exit); nothing it does is a write of the store's
        threading.Thread(target=self._background, name="navigator-background", daemon=True).start()

    def _background(self) -> None:
        from navigator.tui.widgets import warm_up

        # first what must happen even if the person quits at once (it starts the daily backup's own
        # process and returns), then the warm-up
        try:
            result = self.after_start() if self.after_start is not None else None
        except Exception as exc:  # after_start says what went wrong itself; this is the last guard
            result = f"today's backup was not started ({type(exc).__name__})."
        if isinstance(result, str):
            self._from_thread(self.notify, result, title="Backup", severity="warning", timeout=15)
        elif result is not None:  # work going on in another process (the daily backup): watch it, never wait
            self._from_thread(self._watch, result)
        warm_up(self.ctx, freeze_gc=self.freeze_gc)
        self._keep_form_data()

    def _from_thread(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """``call_from_thread``, unless the app has stopped meanwhile (then there is no one to tell)."""
        if not self.is_running:
            return
        try:
            self.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:  # it stopped just now
            pass

    def _keep_form_data(self) -> None:
        """In the background thread: read what forms preload (best effort: a form loads it anyway)."""
        from navigator.services.setup import admin, reference

        try:
            ref = reference.reference(self.ctx)
            measures = admin.measure_settings(self.ctx)
            self.ctx.calendar()
        except Exception:
            return

        def keep() -> None:
            self.kept_reference = self.kept_reference or ref
            self.kept_measures = self.kept_measures or measures

        self._from_thread(keep)

    def _watch(self, job: BackgroundJob) -> None:
        """Poll a background process each second; show its warning when it ends. Quitting never waits."""

        def check() -> None:
            if job.poll():
                timer.stop()
                warning = job.warning()
                if warning:
                    self.notify(warning, title="Backup", severity="warning", timeout=15)

        timer = self.set_interval(1.0, check)

    async def on_event(self, event: events.Event) -> None:
        key = isinstance(event, events.Key) and not event.is_forwarded
        if not key:
            if isinstance(event, events.Key):  # a key back at the app from its widget: on its way no more
                self.keys_in_flight = [(k, t) for k, t in self.keys_in_flight if k is not event]
            await super().on_event(event)
            return
        assert isinstance(event, events.Key)
        # keys typed while a journey opens wait for its screen, then replay in order
        if self.opening and not getattr(event, APP_REPLAYED, False):
            self.held_keys.append(event)
            return
        # keys typed while a form is opening are held, then replayed in order (forms.base.hold_key)
        forms = loaded_forms()  # None until a form was first opened
        if forms is not None and forms.hold_key(self, event):
            return
        if not (forms is not None and isinstance(self.screen, forms.FormScreen)) and await self.run_binding_now(event):
            return
        target = self.focused or self.screen
        await super().on_event(event)
        if event.is_forwarded:  # sent on to the focused widget (not a priority binding's)
            self.keys_in_flight.append((event, target))

    async def run_binding_now(self, event: events.Key) -> bool:
        """Run at once the binding of a key that only a screen or the app uses (``n``, ``c``, ``t``, …).

        Textual runs such a binding only after the key has passed through the focused widget's own
        queue, so a key typed straight after it (``n`` then ``Zed``) would reach the old screen
        first. Keys a focused text field takes as text, and widgets' own bindings, go the usual way.
        """
        if isinstance(self.focused, TEXT_ENTRY) or self.keys_on_their_way():
            return False
        active = self.screen.active_bindings.get(event.key)
        if active is None or not active.enabled or active.binding.priority:
            return False
        if active.node is not self and active.node is not self.screen:
            # a list's own enter (select) opens the row through a message the screen handles later:
            # where the screen binds the key itself ("open"), its action runs now instead
            if event.key != "enter" or not isinstance(active.node, LISTS):
                return False
            if any(isinstance(node, Select) for node in active.node.ancestors):
                return False  # a drop-down's list: enter chooses the option
            own = [b for key, b in own_bindings(self.screen) if key == event.key and b.action == "open"]
            if not own or self.screen.check_action("open", ()) is not True:
                return False
            return await self.run_action("open", self.screen)
        return await self.run_action(active.binding.action, active.node)

    def keys_on_their_way(self) -> bool:
        """Is a key typed earlier still travelling through the focused widget and its parents (a down
        whose list binding runs only once the key is back at the app)? A binding run now would overtake
        it: down then enter, typed fast, opened the row the person had moved away from."""
        self.keys_in_flight = [
            (key, target)
            for key, target in self.keys_in_flight
            if not propagation_stopped(key) and target.is_attached  # stopped on the way, or its screen gone
        ]
        return bool(self.keys_in_flight)

    def hold_keys(self) -> None:
        """Keys typed from now on wait until ``release_keys`` (a journey is being opened)."""
        self.opening = True

    def release_keys(self) -> None:
        """Replay the held keys in order through the app's key dispatch; stop holding once none are left.

        The replayed keys go to the end of the app's queue with a marker after them; a key arriving
        meanwhile is still held (it cannot overtake them) and replayed at the marker.
        """
        if not self.opening:
            return
        held, self.held_keys = self.held_keys, []
        if not held:
            self.opening = False
            return
        for event in held:
            replay = events.Key(event.key, event.character)
            setattr(replay, APP_REPLAYED, True)
            self.post_message(replay)
        self.call_later(self.release_keys)

    async def action_quit(self) -> None:
        """Quit (q, ctrl+q): asks first when a form with changes is open."""
        if not confirm_discard(self, self.exit):
            self.exit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.ctx is None and action in NAV_ACTIONS | {"help"}:
            return False
        if action == "back" and len(self.screen_stack) <= 1:
            return False
        if action.partition("(")[0] == "team_screen":  # Help asks with the parameters still attached
            return self.is_team_lead()
        return True

    async def _show(self, name: str | None) -> None:
        if confirm_discard(self, partial(self.call_later, self._show, name), leaving="screen"):
            return  # a form with changes is open: asked first
        target = self.screen_stack[0] if name is None else self.get_screen(name)
        if target in self.screen_stack:
            while self.screen is not target and len(self.screen_stack) > 1:
                await self.pop_screen()
            return
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        await self.push_screen(target)

    async def action_today(self) -> None:
        await self._show(None)

    async def action_caseload(self) -> None:
        await self._show("caseload")

    async def action_find(self) -> None:
        await self._show("find")

    async def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            await self.pop_screen()

    def action_help(self) -> None:
        from navigator.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    async def action_setup(self) -> None:
        """The admin screen (users, reference data, partners, ...): its services refuse non-admins."""
        from navigator.tui.admin import AdminScreen

        if isinstance(self.screen, AdminScreen):
            return
        if confirm_discard(self, partial(self.call_later, self.action_setup), leaving="screen"):
            return
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        await self.push_screen(AdminScreen())

    def is_team_lead(self) -> bool:
        """Team leads and admins see the team screens (their services check again)."""
        if self.ctx is None:
            return False
        known = getattr(self, "_team_lead", None)
        if known is None:
            try:
                known = self._team_lead = bool(self.ctx.actor().is_team_lead)
            except Exception:
                return False
        return known

    async def action_team_screen(self, name: str) -> None:
        """One of the team leads' screens (TEAM_SCREENS), over the first screen."""
        spec = next((s for s in TEAM_SCREENS if s[0] == name), None)
        if spec is None or not self.is_team_lead():
            self.notify("Only a team lead or an admin can see that.", title="Not allowed", severity="error")
            return
        screen_cls = spec[4]()
        if isinstance(self.screen, screen_cls):
            return
        if confirm_discard(self, partial(self.call_later, self.action_team_screen, name), leaving="screen"):
            return
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        await self.push_screen(screen_cls())

    def open_journey(self, journey_id: int) -> None:
        from navigator.tui.screens.journey import open_journey

        open_journey(self, journey_id)  # reads it first, then shows it painted once

    def action_new_referral(self) -> None:
        def saved(result) -> None:
            journey_id = getattr(result, "journey_id", None)
            if journey_id is not None:
                self.open_journey(journey_id)

        from navigator.tui.forms import ReferralForm

        self.open_form(ReferralForm, on_saved=saved)

    # ---------------------------------------------------------------- forms
    def open_form(
        self,
        form_cls: Callable[..., Screen],
        *args,
        journey_id: int | None = None,
        on_saved: Callable[[Any], None] | None = None,
    ) -> bool:
        """Push ``form_cls(ctx, *args)`` (a form of ``navigator.tui.forms``); on a save, broadcast DataChanged.

        Returns False (the error shown) if the form could not be made (its record is gone, not allowed).
        """
        try:
            form = form_cls(self.ctx, *args)
        except (DomainError, StoreError) as exc:
            self.show_error(exc)
            return False

        def done(result) -> None:
            if result is None:
                return
            changed = journey_id if journey_id is not None else getattr(result, "journey_id", None)
            self.data_changed(changed)
            if on_saved is not None:
                on_saved(result)

        self.push_screen(form, done)
        return True

    # ---------------------------------------------------------------- data changes
    def data_changed(self, journey_id: int | None = None) -> None:
        """Tell every screen that store data changed (they reload); hidden screens reload when shown."""
        self.data_generation += 1
        for screen in list(self.screen_stack):
            message = DataChanged(journey_id)
            message.broadcast = True
            screen.post_message(message)

    def on_data_changed(self, message: DataChanged) -> None:
        if not message.broadcast:
            self.data_changed(message.journey_id)

    # ---------------------------------------------------------------- errors
    def show_error(self, exc: BaseException) -> None:
        """A worker's or form's error as a message the user can act on; never a traceback."""
        if isinstance(exc, StoreError):
            from navigator.tui.screens.error import ErrorDialog

            self.push_screen(ErrorDialog(str(exc)))
        elif isinstance(exc, AccessDenied):
            self.notify(str(exc), title="Not allowed", severity="error", timeout=10)
        elif isinstance(exc, DomainError):
            self.notify(str(exc), title="Cannot do that", severity="error", timeout=10)
        else:
            self.notify(str(describe_error(exc)), title="Something went wrong", severity="error", timeout=10)

    no_terminal = False  # run() found no terminal and did not start

    def run(self, *args, headless: bool = False, **kwargs):
        """Run the app; without a terminal (and not headless) return at once, with ``no_terminal`` set."""
        if not headless and not has_terminal():
            self.no_terminal = True
            return None
        return super().run(*args, headless=headless, **kwargs)

    def fatal_error_message(self, error_name: str) -> str | None:
        """An unhandled exception: exit with a short message, never a traceback (it may hold personal data)."""
        if os.environ.get("NAVIGATOR_DEBUG"):
            return None
        return (
            f"navigator: an unexpected error ({error_name}). Nothing half-written was kept. "
            "Run `navigator doctor`, and report this with NAVIGATOR_DEBUG=1 output to your admin."
        )


NO_TERMINAL = (
    "navigator: the app needs a terminal (its input, output or error output is not one: a pipe, a file, a "
    "job without a terminal). Run it in a terminal, or use a sub-command (navigator --help)."
)


def has_terminal() -> bool:
    """Are standard input, output and error all a terminal (the app would wait forever otherwise)?

    Textual draws on the process's standard error (``sys.__stderr__``): with it sent to a file
    (``navigator 2>log``) the screen would stay blank while the app waited for keys."""
    streams = (sys.stdin, sys.stdout, sys.__stderr__)
    return all(stream is not None and stream.isatty() for stream in streams)


def run_app(ctx, error: str | None = None, *, after_start: AfterStart | None = None) -> int:
    """Run the desk on ``ctx`` (or, with ``ctx`` None, a screen explaining ``error``). Returns an exit code.

    ``after_start`` runs in the background once the first screen shows its data (or at exit, if the
    app closed before that); a warning it returns is shown. It may instead return a job running in
    another process (the daily backup): the app shows its warning if it ends while the app is open,
    and quitting never waits for it.
    """
    app = NavigatorApp(ctx, error=error, after_start=after_start if ctx is not None else None, freeze_gc=True)
    app.close_due_on_start = True
    from navigator.tui import themes

    themes.remember(app)  # start with the theme this person chose, and keep each new choice
    app.run()
    if app.no_terminal:
        print(NO_TERMINAL, file=sys.stderr)
        return 2
    if ctx is not None and after_start is not None and not app.background_started:
        warning = after_start()
        if isinstance(warning, str):
            print(f"navigator: warning: {warning}", file=sys.stderr)
    code = app.return_code
    return int(code or 0)
