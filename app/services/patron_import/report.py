"""The import's report, as people read it on the page, in the command line and in the
downloaded file: what was asked, the counts, the columns not applied, and every bad row."""
from __future__ import annotations

from typing import Iterator

from .options import ImportResult


def describe_options(result: ImportResult) -> list[str]:
    o = result.options
    lines = [f"File: {o.file_name}", f"Match on: {o.match}",
             "Matching patrons: " + ("overwritten" if o.overwrite else "ignored (the existing record is kept)")]
    if o.overwrite:
        lines.append("Attributes: " + ("only the types in the file are replaced" if o.preserve_attributes
                                       else "the file's list replaces all of them"))
        if o.overwrite_passwords:
            lines.append("Passwords of matched patrons: replaced (never for staff)")
        if o.preserve_fields:
            lines.append("Existing values kept for: " + ", ".join(o.preserve_fields))
        if o.update_expiry:
            lines.append("Expiry of matched patrons renewed from " + ("today" if o.update_expiry == "now"
                                                                       else "their current expiry date"))
    if o.defaults:
        lines.append("Defaults: " + ", ".join(f"{k}={v}" for k, v in sorted(o.defaults.items())))
    if o.patron_list:
        lines.append(f"Patron list of new patrons: {o.patron_list}")
    if o.welcome_email:
        lines.append("Welcome email to new patrons: yes")
    lines.append("Bad rows: " + ("skipped, the good rows imported" if o.skip_bad_rows
                                 else "any bad row stops the whole file (all or nothing)"))
    return lines


def outcome_line(result: ImportResult) -> str:
    if result.options.dry_run:
        return (f"Dry run: nothing was written. The file would create {result.to_create} and overwrite "
                f"{result.to_overwrite} patron(s); {result.malformed} bad row(s).")
    if result.refused:
        return (f"Nothing was imported: {result.malformed} bad row(s) and the whole file is applied or nothing "
                f"(fix them, or choose to skip bad rows). The good rows would create {result.to_create} and "
                f"overwrite {result.to_overwrite} patron(s).")
    return f"Imported {result.rows - result.malformed} of {result.rows} row(s) in {result.seconds:.1f} s."


def report_lines(result: ImportResult, mail_note: str | None = None) -> Iterator[str]:
    yield result.summary
    yield outcome_line(result)
    if result.patron_list_name:
        yield f"Patron list created: {result.patron_list_name} ({result.created} patron(s))"
    if mail_note:
        yield mail_note
    yield ""
    yield from describe_options(result)
    if result.header is not None:
        if result.header.protected:
            yield "Columns accepted but never applied from a file: " + ", ".join(result.header.protected)
        if result.header.not_stored:
            yield "Columns Carrel does not store: " + ", ".join(result.header.not_stored)
    if result.bad_rows:
        yield ""
        yield f"Bad rows ({result.malformed}):"
        for bad in result.bad_rows:
            yield str(bad)


def render_report(result: ImportResult, mail_note: str | None = None) -> str:
    return "\n".join(report_lines(result, mail_note)) + "\n"
