"""The answer as every layer sees it: cited, verbatim excerpts. Values only, no behaviour beyond
their JSON shape; the answering stage makes them, the front doors (CLI, chat) show them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Citation:
    n: int
    path: str  # relative to its docs folder
    file: str  # docs folder + path, as shown to people
    title: str
    section: str
    author: str
    start: int | None
    end: int | None
    page: int | None = None  # 1-based page of the excerpt's start, for paged formats (PDF)
    url: str | None = None  # where people read it: page, section and quoted words (bot/links.py); None: no `links` set


@dataclass(frozen=True)
class Excerpt:
    text: str
    kind: str  # "text" (verbatim from the document body) or "field" (a front-matter fact)
    score: float
    citation: Citation
    highlight: tuple[int, int] | None = None  # offsets into text
    code: tuple[tuple[int, int], ...] = ()  # offsets into text of the code blocks it quotes whole
    markup: tuple[tuple[int, int], ...] = ()  # offsets into text of markup between its units (a fence, a directive): shown as a line break
    inline: tuple[tuple[int, int], ...] = ()  # offsets into text of markup inside its units (a role, link syntax, a tag): not shown


@dataclass(frozen=True)
class Answer:
    question: str
    answered: bool
    message: str
    excerpts: tuple[Excerpt, ...]
    generation: int = 0

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "answered": self.answered,
            "message": self.message,
            "excerpts": [
                {
                    "text": e.text,
                    "kind": e.kind,
                    "score": round(e.score, 4),
                    "highlight": list(e.highlight) if e.highlight else None,
                    "code": [list(c) for c in e.code],
                    "markup": [list(m) for m in e.markup],
                    "inline": [list(m) for m in e.inline],
                    "citation": {
                        "n": e.citation.n, "path": e.citation.path, "file": e.citation.file,
                        "title": e.citation.title, "section": e.citation.section,
                        "author": e.citation.author, "page": e.citation.page,
                        "start": e.citation.start, "end": e.citation.end, "url": e.citation.url,
                    },
                }
                for e in self.excerpts
            ],
        }
