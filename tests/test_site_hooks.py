"""The mkdocs hooks that shape every page: Chinese line breaks, the <head> alternate links."""

import re

import pytest

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
