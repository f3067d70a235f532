"""Producing a letter from a journey: choose the template and the format, write the file.

``letter_dialog(ctx, journey_id, default_dir)`` returns a dialog to push (from the Journey screen);
it dismisses with the path written. The letter goes through ``services.letters.render`` (which
checks access, refuses fields the recipient may not see, and records the letter on the timeline)
and the file is readable by its owner only.
"""

from __future__ import annotations

import os
from pathlib import Path

from navigator.domain.errors import DomainError
from navigator.services.casework import letters
from navigator.tui.admin.dialogs import EditDialog, Field


def write_private(path: Path, text: str, *, force: bool) -> Path:
    if path.is_dir() or not path.name:
        raise DomainError("Give the name of the file to write.", field="path")
    if path.exists() and not force:
        raise DomainError(f"{path} already exists: tick 'Overwrite' or choose another name.", field="path")
    if not path.parent.exists():
        raise DomainError(f"The folder {path.parent} does not exist.", field="path")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return path


def letter_dialog(
    ctx, journey_id: int, default_dir: str | os.PathLike | None = None, template: str | None = None
) -> EditDialog:
    """``template``: the letter chosen to start with (the referrer's, once a journey has ended)."""
    folder = Path(default_dir) if default_dir is not None else Path.home()
    options = [(f"{k.title} (to {k.recipient})", k.name) for k in letters.KINDS.values()]

    def save(v):
        name = v["template"]
        fmt = v["format"]
        raw = (v["path"] or "").strip()
        suffix = "html" if fmt == "html" else "txt"
        path = Path(raw).expanduser() if raw else folder / f"journey-{journey_id}-{name}.{suffix}"
        if not path.is_absolute():
            path = folder / path
        if path.exists() and not v["force"]:
            raise DomainError(f"{path} already exists: tick 'Overwrite' or choose another name.", field="path")
        text = letters.render(ctx, journey_id, name, fmt)
        return write_private(path, text, force=v["force"])

    return EditDialog(
        "Produce a letter",
        [
            Field("template", "Letter", "select", template or "opt_in_letter", options),
            Field(
                "format",
                "Format",
                "select",
                "text",
                [("Plain text (to paste into an email)", "text"), ("HTML page (to print)", "html")],
            ),
            Field(
                "path",
                "File",
                placeholder=str(folder / f"journey-{journey_id}-<letter>.txt"),
                help="Empty: the name shown. The file is readable by you only.",
            ),
            Field("force", "Overwrite the file if it exists", "bool", False),
        ],
        save,
        save_label="Produce",
        intro="The letter is recorded on the journey's timeline. A partner summary "
        "needs the person's consent to share; a closure notice a closed journey. A letter to the "
        "referrer records them told (by letter, today).",
    )
