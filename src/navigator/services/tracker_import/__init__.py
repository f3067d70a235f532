"""Bringing in a spreadsheet tracker: parse, check, then write through the bulk writer."""
