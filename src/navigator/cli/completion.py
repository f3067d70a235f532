"""`navigator completion bash|zsh|fish`: print the shell completion script (made by shtab from the
same parser the command uses, so it always matches this version's commands and options)."""

from __future__ import annotations

import argparse

HELP = """\
Prints a completion script for your shell on stdout. Install it once (and again after upgrading
navigator, so new commands complete):

  bash  navigator completion bash > ~/.local/share/bash-completion/completions/navigator
        (needs the bash-completion package; open a new shell)
  zsh   mkdir -p ~/.zfunc && navigator completion zsh > ~/.zfunc/_navigator
        and in ~/.zshrc, before compinit:  fpath=(~/.zfunc $fpath); autoload -U compinit; compinit
  fish  navigator completion fish > ~/.config/fish/completions/navigator.fish

Commands, actions, options and choices complete; file arguments complete file names.
"""

SHELLS = ("bash", "zsh", "fish")

# arguments that name a file (or folder): completed with file names
_FILE_DESTS = {"db", "file", "out", "csv", "wording", "path", "to_file"}


def register(sub) -> None:
    p = sub.add_parser(
        "completion",
        help="print the shell completion script for bash, zsh or fish",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=SHELLS, help="your shell")
    p.set_defaults(handler=run)


def _walk(parser: argparse.ArgumentParser):
    yield parser
    for action in parser._actions:  # argparse has no public accessor for sub-parsers
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _walk(child)


def run(args) -> int:
    import sys

    import shtab  # only here: it stays off every other command's start-up

    from navigator.cli import build_parser

    parser = build_parser()
    for p in _walk(parser):
        for action in p._actions:
            metavar = str(action.metavar or "")
            if action.dest in _FILE_DESTS or metavar.startswith(("FILE", "PATH", "DIR")) or metavar.endswith(".csv"):
                action.complete = shtab.DIRECTORY if metavar.startswith("DIR") else shtab.FILE
    sys.stdout.write(shtab.complete(parser, shell=args.shell))
    return 0
