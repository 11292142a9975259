"""The junk detectors of bench/fidelity.py: what they count in quotable prose, and what they let be."""

from collections import Counter

from bench.fidelity import (
    count_bad_chars,
    count_escapes,
    count_html_tags,
    count_md_link_urls,
    count_midline_fences,
    count_pilcrows,
    count_repeated_headers,
    count_rst_markup,
    junk_counts,
    recall,
    rst_reference,
    words,
)


def test_escapes_and_tags_count_outside_inline_code_only():
    assert count_escapes(r"the script’s \_\_doc\_\_ string and x\*(a+b)") == 5
    assert count_escapes(r"use `\_` in code, or C:\Users\n as written") == 0
    assert count_html_tags("from -(2<sup>7</sup>) to <!-- ignore --> <img src='a.png'/>") == 4
    assert count_html_tags("Box<T> and Vec<i32> hold `<th>` cells") == 0


def test_fences_pilcrows_links_and_bad_characters():
    assert count_midline_fences("you can run ```\naptitude\nupdate") == 1
    assert count_midline_fences("```python\nprint(1)\n```") == 0
    assert count_pilcrows("Logging HOWTO¶ and ¶") == 2
    assert count_md_link_urls("see [Cartography](https://github.com/robb/Cartography) and [docs](/docs)") == 1
    assert count_md_link_urls("`[x](https://example.com)` is the syntax") == 0
    assert count_bad_chars("co\u00adoperate\ufffe") == 2


def test_rst_roles_and_substitutions():
    assert count_rst_markup("call :meth:`Client.run` or :py:class:`~discord.Bot` with |version|") == 3
    assert count_rst_markup("a table | cell | row | and `|x|` in code, a time of 10:30: fine") == 0
    assert junk_counts("plain prose.") == dict.fromkeys(junk_counts(""), 0)


def test_repeated_headers_and_recall():
    pages = [["Annual Report 2024 — page 1", "Sales rose."], ["Annual Report 2024 — page 2", "Costs fell."],
             ["Annual Report 2024 — page 3", "Sales rose."], ["Appendix"]]
    assert count_repeated_headers(pages) == 3  # "Sales rose." is on only half the pages
    assert recall(words("the cat sat"), words("The cat sat on the mat")) == 0.5
    assert recall(Counter(), Counter()) == 1.0
    shown = rst_reference("Title\n=====\n\n.. _label:\n\nSee :meth:`~a.b.run` and `docs <https://x.org>`_.\n")
    assert words(shown) == words("See run and docs")
