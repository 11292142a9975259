"""The pure Discord payload builder against every limit and injection case."""

import pytest

from bot.render import render_text
from bot.types import Answer, Citation, Excerpt
from bot.discord.payload import (
    DESCRIPTION_MAX, EMBEDS_TOTAL_MAX, FIELD_VALUE_MAX, FOOTER_MAX, TITLE_MAX, answer_payload, embed_length,
    escape, truncate, unescape,
)


def excerpt(text, n=1, highlight=None, title="Doc", section="Sec", file="docs/a.md"):
    c = Citation(n, file.split("/")[-1], file, title, section, "", 0, len(text))
    return Excerpt(text, "text", 0.9, c, highlight)


def check_limits(embed):
    assert len(embed["title"]) <= TITLE_MAX
    assert len(embed["description"]) <= DESCRIPTION_MAX
    assert len(embed.get("fields", [])) <= 25
    assert all(len(f["value"]) <= FIELD_VALUE_MAX and len(f["name"]) <= 256 for f in embed.get("fields", []))
    assert len(embed["footer"]["text"]) <= FOOTER_MAX
    assert embed_length(embed) <= EMBEDS_TOTAL_MAX


@pytest.mark.parametrize("source", [
    "@everyone look at this",
    "ping <@&123456789012345678> and <@123456789012345678> and @here",
    "```python\nimport os\n``` and [click me](https://evil.example) **bold** __u__ ~~s~~ ||spoiler|| > quote # h",
    "back\\slash and `tick` and :emoji: and - dash",
])
def test_escaping_defuses_mentions_and_markdown_and_round_trips(source):
    escaped = escape(source)
    assert unescape(escaped) == source
    assert "@everyone" not in escaped.replace("\\@", "")
    assert "<@" not in escaped and "```" not in escaped and "](" not in escaped
    payload = answer_payload(Answer(source, True, "", (excerpt(source),)))
    assert unescape(payload.embed["description"]).count(" ".join(source.split())) == 1


def test_huge_excerpts_and_question_fit_every_limit_and_cut_at_a_boundary():
    long_sentence = "Word " * 3000
    sentences = "This is one sentence about otters. " * 400
    answer = Answer("why " * 300 + "?", True, "", tuple(
        excerpt(text, n, title="T" * 500, section="S" * 500, file="d/" + "f" * 500)
        for n, text in enumerate([long_sentence, sentences, "@everyone " * 900, "x" * 9000], start=1)))
    for start in (0, 2):
        embed = answer_payload(answer, start=start, count=2).embed
        check_limits(embed)
        assert "…" in embed["description"]
        assert "Wor…" not in embed["description"] and "Wo…" not in embed["description"]


def test_truncate_prefers_sentence_then_word_boundaries():
    text = "First sentence here. Second sentence is much longer than the limit allows."
    assert truncate(text, 40) == "First sentence here. …"
    assert truncate("alpha beta gamma delta", 15) == "alpha beta…"
    assert truncate("short", 10) == "short"
    for limit in range(1, 60):
        assert len(truncate(text, limit)) <= limit


def test_highlight_is_bold_and_sources_are_listed():
    text = "On 10 September 2022 Ukrainian forces recaptured the town."
    e = excerpt(text, highlight=(3, 20), title="Battle of Izium (2022)", section="The Battle")
    embed = answer_payload(Answer("when?", True, "", (e,))).embed
    assert "**10 September 2022**" in embed["description"]
    assert embed["fields"][0]["name"] == "Sources"
    assert "Battle of Izium \\(2022\\)" in embed["fields"][0]["value"]


def test_a_pdf_source_names_its_page():
    text = "Visiting boats pay 14 euros per night for a berth up to 10 metres."
    c = Citation(1, "handbook.pdf", "docs/handbook.pdf", "Harbour Handbook", "2 Mooring fees", "", 152, 152 + len(text),
                 page=2)
    embed = answer_payload(Answer("how much?", True, "", (Excerpt(text, "text", 0.9, c),))).embed
    assert "2 Mooring fees · p. 2 · docs/handbook.pdf" in embed["fields"][0]["value"]


def test_unanswered_says_so_plainly():
    embed = answer_payload(Answer("who wrote hamlet?", False, "I couldn't find this in the documents.", ())).embed
    assert "couldn't find" in embed["description"] and "fields" not in embed or not embed["fields"]
    check_limits(embed)


def test_more_sources_pages_through_the_rest():
    answer = Answer("q", True, "", tuple(excerpt(f"Sentence number {n}.", n) for n in range(1, 6)))
    first = answer_payload(answer, 0, 2).embed
    assert "number 1" in first["description"] and "number 3" not in first["description"]
    assert "3 more excerpts" in first["footer"]["text"]
    second = answer_payload(answer, 2, 2).embed
    assert "number 3" in second["description"] and "number 4" in second["description"]


def test_quoted_code_is_a_code_block_that_cannot_be_broken_out_of():
    text = "Register it like so: ::\n\n    await bot.add_cog(Greetings(bot))\n    # ``` @everyone\n    done()"
    a = text.index("await")
    c = Citation(1, "cogs.rst", "docs/cogs.rst", "Cogs", "Cog Registration", "", 10, 10 + len(text))
    e = Excerpt(text, "text", 0.9, c, None, code=((a, len(text)),))
    payload = answer_payload(Answer("how do I register a cog?", True, "", (e,)))
    description = payload.embed["description"]
    check_limits(payload.embed)
    assert "“Register it like so\\: \\:\\:”" in description
    assert "```\nawait bot.add_cog(Greetings(bot))\n# `\u200b`\u200b` @everyone\ndone()\n```" in description
    assert description.count("```") == 2  # the fence inside the code no longer closes the block


def test_markdown_fence_lines_are_shown_as_the_code_block_not_as_words():
    text = "It will render like this:\n\n```\nfn foo() {}\n```\nYes, lines that start with `#` are hidden."
    start, end = text.index("fn foo"), text.index("{}") + 2
    c = Citation(1, "a.md", "docs/a.md", "A", "", "", 0, len(text))
    fences = ((text.index(":") + 1, text.index("fn foo")), (end, text.index("Yes")))
    e = Excerpt(text, "text", 0.9, c, code=((start, end),), markup=fences)
    shown = render_text(Answer("q", True, "", (e,)))
    assert "```" not in shown and "fn foo() {}" in shown and "“Yes, lines that start with `#` are hidden.”" in shown
    embed = answer_payload(Answer("q", True, "", (e,))).embed
    assert embed["description"].count("```") == 2  # the one code block Discord shows, opened and closed


def test_terminal_keeps_code_lines_and_json_names_the_code():
    from bot.render import render_json, render_text
    import json

    text = "Quick example:\n\n    if x:\n        run()\n    stop()"
    a = text.index("if x")
    c = Citation(1, "a.rst", "docs/a.rst", "A", "", "", 0, len(text))
    answer = Answer("q", True, "", (Excerpt(text, "text", 0.9, c, None, code=((a, len(text)),)),))
    shown = render_text(answer)
    assert "      if x:\n          run()\n      stop()" in shown and "“Quick example:”" in shown
    assert json.loads(render_json(answer))["excerpts"][0]["code"] == [[a, len(text)]]


def test_inline_markup_is_not_shown_and_the_highlight_follows():
    """Excerpt.inline lists markup inside the quoted sentences (a role, literal marks, link
    syntax): the text stays verbatim, what is shown leaves it out, the highlight moves with it."""
    import json

    from bot.render import as_read, render_json

    text = "Set :setting:`DEBUG` to ``True``. Then read [the guide](https://x.org/g) and run it."
    spans = [(text.index(":setting:"), text.index("DEBUG")), (text.index("`", text.index("DEBUG")), text.index(" to")),
             (text.index("``True"), text.index("True")), (text.index("``."), text.index(".")),
             (text.index("[the"), text.index("the guide")), (text.index("](https"), text.index(" and run"))]
    after = (text.index("run it"), text.index("run it") + len("run it"))
    c = Citation(1, "a.txt", "docs/a.txt", "A", "", "", 0, len(text))
    e = Excerpt(text, "text", 0.9, c, highlight=after, inline=tuple(spans))
    shown, highlight = as_read(e)
    assert shown == "Set DEBUG to True. Then read the guide and run it."
    assert shown[highlight[0]:highlight[1]] == "run it"
    across = Excerpt(text, "text", 0.9, c, highlight=(text.index("DEBUG"), text.index(". Then")), inline=tuple(spans))
    shown, highlight = as_read(across)
    assert shown[highlight[0]:highlight[1]] == "DEBUG to True"  # a highlight holding inline markup
    assert render_text(Answer("q", True, "", (e,))).startswith("  “Set DEBUG to True. Then read the guide and **run it**.”")
    description = answer_payload(Answer("q", True, "", (e,))).embed["description"]
    assert unescape(description) == "**[1]** “Set DEBUG to True. Then read the guide and **run it**.”"
    data = json.loads(render_json(Answer("q", True, "", (e,))))["excerpts"][0]
    # "markup" keeps its meaning (spans shown as a line break); "inline" lists what is shown as nothing.
    assert data["text"] == text and data["markup"] == [] and data["inline"] == [list(s) for s in spans]


def test_a_hidden_tag_that_breaks_the_line_leaves_a_space_between_words():
    from bot.render import as_read

    text = "First line<br>Second line. Cell one</td><td>Cell two. An <abbr>HTML</abbr> page."
    spans = [(text.index("<br>"), text.index("Second")), (text.index("</td>"), text.index("<td>")),
             (text.index("<td>"), text.index("Cell two")), (text.index("<abbr>"), text.index("HTML")),
             (text.index("</abbr>"), text.index(" page"))]
    c = Citation(1, "a.md", "docs/a.md", "A", "", "", 0, len(text))
    shown, _ = as_read(Excerpt(text, "text", 0.9, c, inline=tuple(spans)))
    assert shown == "First line Second line. Cell one Cell two. An HTML page."


def test_inline_markup_and_markup_between_units_together():
    text = "Run it like this::\n\n.. code-block:: python\n\n    run()\n\nSee ``run``."
    a = text.index("run()")
    c = Citation(1, "a.rst", "docs/a.rst", "A", "", "", 0, len(text))
    e = Excerpt(text, "text", 0.9, c, code=((a, a + 5),), markup=((text.index("\n"), a),),
                inline=((text.index("::"), text.index("::") + 1), (text.index("``run"), text.index("run``")),
                        (text.index("``."), text.index("``.") + 2)))
    shown = render_text(Answer("q", True, "", (e,)))
    assert "“Run it like this:”" in shown and "“See run.”" in shown and "code-block" not in shown
