"""Texts the admin services, CLI and screens share (kept light: no database imports, so that
`navigator --help` stays quick)."""

PROTOCOL_LABELS = {  # what each protocol setting means, for screens and the CLI
    "attempts": "contact attempts",
    "first_within": "attempt 1 within (working days of receipt)",
    "gaps": "gaps between attempts (working days)",
    "methods": "method per attempt",
    "opt_in_days": "opt-in period after the last attempt (working days)",
    "notify_referrer": "closure notifies the referrer",
    "decide_within": "decision due (working days after first contact)",
    "review_every": "plan review every (working days)",
    "partner_response_days": "default partner response period (working days)",
    "chase_limit": "team lead told after this many unanswered partner chases",
    "auto_close_no_response": "no-response closure automatic when the opt-in period ends",
}


WORDING_FORMAT = """\
Load the SWEMWBS statement wording and copyright line from the service's licensed text (navigator
ships the scoring, not the wording). The file is UTF-8 text in one of two forms:

Plain text: the 7 statements, one per line, in the order of the scale, then the copyright line
(8 lines of text). Blank lines and lines starting with # are ignored:

    # SWEMWBS wording, licensed to <service> (licence ref ...)
    <statement 1>
    ...
    <statement 7>
    <copyright line>

TOML:

    statements = ["<statement 1>", "...", "<statement 7>"]
    copyright = "<copyright line>"

Until it is loaded, forms show "Statement 1" ... "Statement 7". --clear forgets the wording.
"""
