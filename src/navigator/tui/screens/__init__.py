"""The desk's screens: Today, Caseload, Journey, Find, Help and the error screens."""
