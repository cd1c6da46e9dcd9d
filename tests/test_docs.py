"""The site as a whole: both languages in step, a strict build, the language switcher, search."""

import json
import posixpath
import re
import urllib.parse

import pytest

from tests.docs_helpers import DOCS, LANGUAGES, built_page, code_shape, page_url, pages, python_fences

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
    return built_page(site, language, topic), page_url(language, topic)


@pytest.mark.parametrize("topic", TOPICS)
def test_default_language_is_chinese_and_switcher_leads_to_the_same_page(built_site, site_server, topic):
    site, _ = built_site
    site_url = site_server[2]  # the build's SITE_URL: the home pages' switcher names it
    for language, other in (("zh", "en"), ("en", "zh")):
        file, url = page_html(site, language, topic)
        html = file.read_text("utf8")
        assert f'<html lang="{language}"' in html
        href = re.search(rf'href="([^"]*)" hreflang="{other}"', html).group(1)
        target = urllib.parse.urljoin(site_url + url.lstrip("/"), href)
        assert target == site_url + page_html(site, other, topic)[1].lstrip("/")


# --- search: one index per language ---------------------------------------------------

def language_folder(language):
    """The folder of a language in the built site, relative to it: "" or "en/"."""
    return page_url(language, "index").lstrip("/")


def search_index(site, language):
    return json.loads((site / language_folder(language) / "search" / "search_index.json").read_text("utf8"))


def search_hits(site, language, query):
    """Pages of a language's index whose indexed text has `query` as a token, tokenized as
    Material's search does (the configured separator, then lower case); their locations are
    relative to the language's root."""
    index = search_index(site, language)
    separator = re.compile(index["config"]["separator"])
    hits = set()
    for doc in index["docs"]:
        text = re.sub(r"<[^>]+>", " ", doc["title"] + " " + doc["text"])
        if query.lower() in {t.lower() for t in separator.split(text) if t}:
            hits.add(doc["location"].split("#")[0])
    return hits


@pytest.mark.parametrize("language, query, expected", [
    ("zh", "卷积", {"conv-shapes/"}),
    ("zh", "神经网络", {""}),
    ("zh", "conv2d", {"conv-shapes/", "convolution/"}),
    ("en", "convolution", {"conv-shapes/", "convolution/"}),
    ("en", "conv2d", {"conv-shapes/", "convolution/"}),
])
def test_search_finds_chinese_and_english_words(built_site, language, query, expected):
    site, _ = built_site
    assert expected <= search_hits(site, language, query)


def test_each_language_has_a_search_index_of_its_own_pages(built_site):
    site, _ = built_site
    indexes = {language: search_index(site, language) for language in LANGUAGES}
    for language, index in indexes.items():
        pages_found = {doc["location"].split("#")[0] for doc in index["docs"]}
        folder = language_folder(language)
        assert pages_found == {page_url(language, topic).lstrip("/")[len(folder):] for topic in TOPICS}, language
        # the entries are this language's: their titles are the headings of its built pages
        for doc in index["docs"]:
            if "#" not in doc["location"]:
                html = (site / folder / doc["location"] / "index.html").read_text("utf8")
                heading = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)
                heading = re.sub(r'<a class="headerlink".*?</a>|<[^>]+>', "", heading).strip()
                # Material puts \u200b between the Chinese words that jieba finds
                assert doc["title"].replace("\u200b", "") == heading, (language, doc["location"])
    assert indexes["zh"]["config"] == indexes["en"]["config"]
    assert len(indexes["zh"]["docs"]) > 2 * len(TOPICS) and len(indexes["en"]["docs"]) > 2 * len(TOPICS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_page_reads_the_search_index_of_its_language(built_site, language):
    """Material fetches search/search_index.json relative to the `base` of the page's __config."""
    site, _ = built_site
    for topic in TOPICS:
        file, url = page_html(site, language, topic)
        config = json.loads(re.search(r'<script id="__config" type="application/json">(.*?)</script>',
                                      file.read_text("utf8"), re.S).group(1))
        # a folder, so that the browser resolves "search/search_index.json" inside it
        assert config["base"].endswith("/") or config["base"].rsplit("/", 1)[-1] in (".", ".."), config["base"]
        index = posixpath.normpath(posixpath.join(url, config["base"], "search/search_index.json"))
        assert index == f"/{language_folder(language)}search/search_index.json", (topic, config["base"])


# --- hidden blocks: a figure's code may stay hidden, but what the reader runs may not need it ------

def info_attributes(info: str) -> dict[str, str]:
    """`python exec="on" html="1" session="x"` -> {"exec": "on", "html": "1", "session": "x"}."""
    return dict(re.findall(r'(\w+)="([^"]*)"', info))


def hidden_names_used_later(path) -> list[str]:
    """Names that a hidden fence (executed, html="1", no source=) assigns and a later shown fence of
    the same session reads before assigning them itself: the shown code would not run, or would not
    give the page's numbers, without the hidden one."""
    import ast

    hidden_only: dict[str, dict[str, int]] = {}  # session -> name -> line of the hidden fence
    problems = []
    for line, info, code in python_fences(path):
        attrs = info_attributes(info)
        session = attrs.get("session")
        if attrs.get("exec") != "on" or session is None:
            continue
        tree = ast.parse(code)
        names = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Name)), key=lambda n: (n.lineno, n.col_offset))
        stored = {n.id for n in names if isinstance(n.ctx, (ast.Store, ast.Del))}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                stored.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                stored.update((a.asname or a.name).split(".")[0] for a in node.names)
        defined = hidden_only.setdefault(session, {})
        if attrs.get("html") == "1" and "source" not in attrs:
            defined.update(dict.fromkeys(stored, line))
            continue
        # parameters and comprehension variables are local to their function or comprehension
        seen = {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
        seen.update(n.id for c in ast.walk(tree) if isinstance(c, ast.comprehension)
                    for n in ast.walk(c.target) if isinstance(n, ast.Name))
        for n in names:
            if isinstance(n.ctx, ast.Load) and n.id in defined and n.id not in seen:
                problems.append(f"{path.name}:{line}: {n.id} comes from the hidden fence at line {defined[n.id]}")
            seen.add(n.id)
        for name in stored:
            defined.pop(name, None)
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("topic", TOPICS)
def test_shown_code_needs_no_hidden_fence(topic, language):
    assert hidden_names_used_later(pages(language)[topic]) == []
