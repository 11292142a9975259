"""A re-index report as one plain sentence for a chat reply (the platform escapes and trims it)."""

from __future__ import annotations

from index.indexer import IndexReport

SKIPPED_SHOWN = 5


def describe_report(report: IndexReport) -> str:
    if not report.wrote:
        text = f"Already up to date: {report.documents} documents, {report.passages} passages."
    else:
        text = (f"Re-indexed: {report.documents} documents, {report.passages} passages. "
                f"Added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
                f"unchanged {report.unchanged}; {report.embedded} passages embedded in {report.seconds:.1f} s.")
    if report.skipped:
        text += f" Skipped {len(report.skipped)} file(s): " + "; ".join(
            f"{s.path}: {s.reason}" for s in report.skipped[:SKIPPED_SHOWN])
    return text
