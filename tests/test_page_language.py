"""Each language's pages read in that language: Chinese punctuation on Chinese pages, figures
whose text is SVG <text> in the page's language (tests/page_checks.py)."""

import pytest

from tests.docs_helpers import LANGUAGES, built_page, pages
from tests.page_checks import figure_language_problems, zh_punctuation_problems

TOPICS = sorted(pages("zh"))


def built(site, language, topic):
    return built_page(site, language, topic).read_text("utf8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_figures_keep_their_text_as_text_in_the_page_language(built_site, language):
    site, _ = built_site
    problems = {t: p for t in TOPICS if (p := figure_language_problems(built(site, language, t), language))}
    assert problems == {}


def test_chinese_pages_use_chinese_punctuation(built_site):
    site, _ = built_site
    problems = {t: p for t in TOPICS if (p := zh_punctuation_problems(built(site, "zh", t)))}
    assert problems == {}


def test_the_checks_catch_what_they_look_for():
    assert figure_language_problems('<svg><path d="M0 0"/></svg>', "zh") == [
        "figure 1 has no <text>: its labels are drawn as paths"]
    assert figure_language_problems('<svg><text>accuracy</text></svg>', "zh")
    assert zh_punctuation_problems('<p>这是"引号"。</p>') and zh_punctuation_problems("<p>卷积(核)</p>")
    assert zh_punctuation_problems("<p>这是“引号”，<code>f(x, y)</code> 与 \\(a, b\\)。</p>") == []
