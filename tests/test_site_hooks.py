"""The mkdocs hooks that shape every page: Chinese line breaks, the <head> alternate links, one
search index per language; and the offline copy derived from a built site."""

import doctest
import json
import re
import zipfile

import pytest

from hooks import offline_copy, search_per_language
from hooks.alternate_links import on_post_page
from hooks.cjk_line_breaks import join_cjk_lines
from tests.docs_helpers import ROOT, page_url, pages


@pytest.mark.parametrize("html, expected", [
    ("<p>笔记里丢失的公式、\n缺失的插图</p>", "<p>笔记里丢失的公式、缺失的插图</p>"),
    ("<p>纠正笔记里的参数表\n  给出公式</p>", "<p>纠正笔记里的参数表给出公式</p>"),
    ("<p>拒绝的组合，\n<code>cnnref</code> 也</p>", "<p>拒绝的组合，<code>cnnref</code> 也</p>"),
    ("<p>用 PyTorch\n验证</p>", "<p>用 PyTorch\n验证</p>"),        # Latin then Chinese: a space is right
    ("<p>two\nlines</p>", "<p>two\nlines</p>"),
    ("<pre><code># 注释，\n# 第二行</code></pre>", "<pre><code># 注释，\n# 第二行</code></pre>"),
    ("<p>甲\n乙</p><pre>丙\n丁</pre><p>戊\n己</p>", "<p>甲乙</p><pre>丙\n丁</pre><p>戊己</p>"),
])
def test_line_breaks_inside_chinese_sentences_are_dropped_outside_code(html, expected):
    assert join_cjk_lines(html) == expected


def test_built_chinese_pages_have_no_line_break_inside_a_sentence(built_site):
    site, _ = built_site
    for topic in pages("zh"):
        html = (site / page_url("zh", topic).lstrip("/") / "index.html").read_text("utf8")
        article = re.search(r"<article\b.*?</article>", html, re.S).group(0)
        prose = re.sub(r"<(pre|script|style|textarea)\b.*?</\1>", "", article, flags=re.S)
        # a break between two Chinese characters, or after a full-width punctuation mark before
        # more text or an opening tag (<code>, <a>): the browser shows a space there
        found = re.search(r"[\u4e00-\u9fff]\n\s*[\u4e00-\u9fff（]|[，、。；：）]\n\s*(?:[\u4e00-\u9fff（]|<(?!/))",
                          prose)
        assert found is None, f"{topic}: {prose[found.start() - 30:found.end() + 10]!r}"


def test_head_alternate_links_are_dropped_and_the_switcher_kept():
    html = ('<head>\n  <link rel="alternate" href="./" hreflang="zh">\n'
            '  <link rel="alternate" href="../en/" hreflang="en">\n</head>\n'
            '<a href="../en/" hreflang="en" class="md-select__link">English</a>')
    out = on_post_page(html, None, None)
    assert 'rel="alternate"' not in out
    assert '<a href="../en/" hreflang="en" class="md-select__link">English</a>' in out


# --- one search index per language (hooks/search_per_language.py) ------------------------

def test_search_hook_examples_run():
    failures, tried = doctest.testmod(search_per_language)
    assert tried >= 3 and failures == 0


def test_search_index_is_split_by_language_folder():
    index = {"config": {"lang": ["zh", "en"], "separator": "x"}, "docs": [
        {"location": "", "title": "首页", "text": ""},
        {"location": "en/", "title": "Home", "text": ""},
        {"location": "en/api/nn/#cnnref.nn.Conv2d", "title": "Conv2d", "text": ""},
        {"location": "english-notes/", "title": "一页", "text": ""},  # starts with "en", not "en/"
    ]}
    parts = search_per_language.split_index(index, ["en"])
    assert [d["location"] for d in parts[None]["docs"]] == ["", "english-notes/"]
    assert [d["location"] for d in parts["en"]["docs"]] == ["", "api/nn/#cnnref.nn.Conv2d"]
    assert parts["en"]["config"] == parts[None]["config"] == index["config"]
    assert len(index["docs"]) == 4  # the combined index is left as it was


def test_search_base_points_at_the_language_root_and_keeps_the_rest_of_the_config():
    config = {"base": "..", "features": [], "search": "../assets/search.js", "translations": {"x": "</script>"}}
    as_jinja_writes_it = json.dumps(config).replace("<", "\\u003c")  # tojson: no "<" inside a script
    html = f'<head></head><script id="__config" type="application/json">{as_jinja_writes_it}</script>'
    out = search_per_language.set_search_base(html, "en")
    text = re.search(r'type="application/json">(.*?)</script>', out, re.S).group(1)
    assert json.loads(text) == {**config, "base": "../en/"}
    assert "</script>" not in text  # a translation cannot end the script element
    with pytest.raises(ValueError, match="expected one __config script"):
        search_per_language.set_search_base("<p>no config</p>", "en")


# --- the offline copy (hooks/offline_copy.py) ---------------------------------------------

def test_offline_copy_examples_run():
    failures, tried = doctest.testmod(offline_copy)
    assert tried >= 2 and failures == 0


@pytest.fixture
def small_site(tmp_path):
    """A site of three pages, built for the path /p/, as mkdocs lays it out."""
    site = tmp_path / "site"
    for page in ("index.html", "a/index.html", "en/index.html", "en/a/index.html", "assets/x.css"):
        (site / page).parent.mkdir(parents=True, exist_ok=True)
        (site / page).write_text("")
    (site / "index.html").write_text('<link rel="canonical" href="https://example.org/p/">')
    return site


@pytest.mark.parametrize("link, page, expected", [
    ("../", "en/a/index.html", "../index.html"),
    ("..", "a/index.html", "../index.html"),
    (".", "index.html", "index.html"),
    ("./", "en/index.html", "index.html"),
    ("./#top", "a/index.html", "index.html#top"),
    ("../a/?h=conv#stride", "en/a/index.html", "index.html?h=conv#stride"),
    ("../../a/", "en/a/index.html", "../../a/index.html"),
    ("/p/en/", "index.html", "en/index.html"),          # the home page's language switcher
    ("/p/", "en/a/index.html", "../../index.html"),
    ("/p/assets/x.css", "en/a/index.html", "../../assets/x.css"),
    ("/elsewhere/", "index.html", "/elsewhere/"),        # not this site's path: left alone
    ("../assets/x.css", "a/index.html", "../assets/x.css"),
    ("missing/", "index.html", "missing/"),              # no such folder: left alone
    ("#top", "a/index.html", "#top"),
    ("", "a/index.html", ""),
    ("https://example.org/p/a/", "index.html", "https://example.org/p/a/"),
    ("//example.org/a/", "index.html", "//example.org/a/"),
    ("data:image/png;base64,AA==", "index.html", "data:image/png;base64,AA=="),
    ("mailto:a@example.org", "index.html", "mailto:a@example.org"),
])
def test_offline_links_name_files(small_site, link, page, expected):
    assert offline_copy.file_link(link, page, small_site, "/p/") == expected


def test_offline_zip_holds_the_site_with_file_links_and_script_indexes(small_site, tmp_path):
    (small_site / "a" / "index.html").write_text('<a href="../en/a/">en</a> <img src="../assets/x.css">')
    for folder in ("", "en/"):
        (small_site / folder / "search").mkdir()
        index = {"config": {"lang": ["en"]}, "docs": [{"location": "", "title": "t", "text": ""},
                                                      {"location": "a/#s", "title": "s", "text": ""}]}
        (small_site / folder / "search" / "search_index.json").write_text(json.dumps(index))
    target = tmp_path / "out.zip"
    target.write_bytes(b"an earlier zip")
    assert offline_copy.site_path(small_site) == "/p/"
    offline_copy.write_offline_zip(small_site, target)
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        files = {name: archive.read(name).decode() for name in names}
    assert {f"site-offline/{p}" for p in ("index.html", "a/index.html", "assets/x.css", "search/search_index.js",
                                           "en/search/search_index.js")} <= names
    assert files["site-offline/a/index.html"] == '<a href="../en/a/index.html">en</a> <img src="../assets/x.css">'
    for folder in ("", "en/"):
        script = files[f"site-offline/{folder}search/search_index.js"]
        assert script.startswith("var __index = ")
        index = json.loads(script[len("var __index = "):])
        assert [d["location"] for d in index["docs"]] == ["index.html", "a/index.html#s"]
    assert list(tmp_path.glob("*.partial")) == []


def test_offline_zip_refuses_a_folder_that_is_not_a_built_site(tmp_path):
    target = tmp_path / "out.zip"
    target.write_bytes(b"an earlier zip")
    with pytest.raises(FileNotFoundError, match="build the site first"):
        offline_copy.write_offline_zip(tmp_path / "nothing", target)
    assert target.read_bytes() == b"an earlier zip"
