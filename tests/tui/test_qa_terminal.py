"""QA of issue 11: ``navigator 2>log`` (standard error to a file). Textual draws the app on the process's
standard error, so with it redirected the screen stayed blank while the app waited for keys: it must
say so and exit, as it does without a terminal on standard input or output."""

from __future__ import annotations


class Stream:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def test_with_standard_error_not_a_terminal_the_app_says_so_and_exits(tui_ctx, monkeypatch, capsys):
    from navigator.tui import app as tui_app

    ran = []
    monkeypatch.setattr(tui_app.App, "run", lambda self, *a, **k: ran.append(True))
    monkeypatch.setattr("sys.stdin", Stream(True))
    monkeypatch.setattr("sys.stdout", Stream(True))
    monkeypatch.setattr("sys.__stderr__", Stream(False))  # where Textual draws
    assert tui_app.run_app(tui_ctx, after_start=lambda: None) == 2
    assert not ran
    assert "needs a terminal" in capsys.readouterr().err


def test_with_all_three_a_terminal_the_app_runs(tui_ctx, monkeypatch):
    from navigator.tui import app as tui_app

    ran = []
    monkeypatch.setattr(tui_app.App, "run", lambda self, *a, **k: ran.append(True))
    for stream in ("sys.stdin", "sys.stdout", "sys.__stderr__"):
        monkeypatch.setattr(stream, Stream(True))
    assert tui_app.run_app(tui_ctx, after_start=lambda: None) == 0
    assert ran == [True]
