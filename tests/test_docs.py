"""The site as a whole: both languages in step, a strict build, the language switcher, search."""

import json
import posixpath
import re

import pytest

from tests.docs_helpers import DOCS, LANGUAGES, code_shape, page_url, pages, python_fences

TOPICS = sorted(pages("zh"))


def test_every_page_exists_in_both_languages():
    assert TOPICS, "no pages found"
    assert set(pages("zh")) == set(pages("en"))
    stray = [p.name for p in DOCS.rglob("*.md") if not p.name.endswith((".zh.md", ".en.md"))]
    assert stray == [], "pages must carry a language suffix"


@pytest.mark.parametrize("topic", TOPICS)
def test_both_languages_have_the_same_code_blocks_in_the_same_order(topic):
    zh, en = (python_fences(pages(lang)[topic]) for lang in LANGUAGES)
    assert [info for _, info, _ in zh] == [info for _, info, _ in en]
    for (line_zh, _, code_zh), (line_en, _, code_en) in zip(zh, en):
        assert code_shape(code_zh) == code_shape(code_en), f"{topic}: zh line {line_zh} vs en line {line_en}"


def test_strict_build_has_no_warnings(built_site):
    site, result = built_site
    assert result.returncode == 0, result.stderr[-3000:]
    assert "WARNING" not in result.stderr, result.stderr[-3000:]


def page_html(site, language, topic):
    url = page_url(language, topic)
    return site / url.lstrip("/") / "index.html", url


@pytest.mark.parametrize("topic", TOPICS)
def test_default_language_is_chinese_and_switcher_leads_to_the_same_page(built_site, topic):
    site, _ = built_site
    for language, other in (("zh", "en"), ("en", "zh")):
        file, url = page_html(site, language, topic)
        html = file.read_text("utf8")
        assert f'<html lang="{language}"' in html
        href = re.search(rf'href="([^"]*)" hreflang="{other}"', html).group(1)
        target = posixpath.normpath(posixpath.join(url, href)).rstrip("/") + "/"
        assert target == page_html(site, other, topic)[1]


def search_hits(site, query):
    """Pages whose indexed text has `query` as a token, tokenized as Material's search does
    (the configured separator, then lower case)."""
    index = json.loads((site / "search" / "search_index.json").read_text("utf8"))
    separator = re.compile(index["config"]["separator"])
    hits = set()
    for doc in index["docs"]:
        text = re.sub(r"<[^>]+>", " ", doc["title"] + " " + doc["text"])
        if query.lower() in {t.lower() for t in separator.split(text) if t}:
            hits.add(doc["location"].split("#")[0])
    return hits


@pytest.mark.parametrize("query, expected", [
    ("卷积", {"conv-shapes/"}),
    ("神经网络", {""}),
    ("conv2d", {"conv-shapes/", "en/conv-shapes/"}),
    ("convolution", {"en/conv-shapes/"}),
])
def test_search_finds_chinese_and_english_words(built_site, query, expected):
    site, _ = built_site
    assert expected <= search_hits(site, query)
