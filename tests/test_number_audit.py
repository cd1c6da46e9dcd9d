"""The number audit (hooks/number_audit.py): a number in prose must be backed by the page's code,
a citation, a year or the allow-list; the strict build fails otherwise."""

import collections
import logging
import random
import re
from html import escape as html_escape

import pytest

from hooks import number_audit as na
from tests.docs_helpers import LANGUAGES, built_page, pages

TOPICS = sorted(pages("zh"))  # API pages included


def code(*literals, output=""):
    """A highlighted code block with these numeric literals and a plain result block."""
    spans = "".join(f'<span class="mi">{x}</span><span class="p">,</span>' for x in literals)
    return (f'<div class="highlight"><pre><span></span><code>{spans}</code></pre></div>'
            f'<div class="highlight"><pre><span></span><code>{output}</code></pre></div>')


def flagged(html, **kwargs):
    return [f.number for f in na.audit(html, allow_list=kwargs.pop("allow_list", []), **kwargs)]


@pytest.mark.parametrize("prose, backing", [
    ("It has 61,706 parameters.", code(output="61706")),           # thousands separator
    ("It has 61706 parameters.", code(output="61,706")),
    ("Accuracy is 84.9 %.", code(output="0.84912")),                 # a fraction shown as a percentage
    ("Accuracy is 84.9%.", code(output="84.93")),                    # rounding to the digits shown
    ("It is 1.56× slower.", code(output="ratio 1.5649")),
    ("A tolerance of 1e-10.", code("1e-10")),                        # scientific notation
    (r'A tolerance of <span class="arithmatex">\(10^{-10}\)</span>.', code("1e-10")),
    ("About 11.7 M parameters.", code(output="11689512")),           # a scale word
    ("约 3.5 万个参数。", code(output="34848")),
    ("一张图是 0.44 个百分点。", code(output="0.004444")),
])
def test_a_backed_number_passes(prose, backing):
    assert flagged(f"<p>{prose}</p>" + backing) == []


@pytest.mark.parametrize("prose, backing, number", [
    ("It has 61,707 parameters.", code(output="61706"), "61,707"),
    ("Accuracy is 85.9 %.", code(output="0.84912"), "85.9 %"),
    ("Accuracy is 84.90 %.", code(output="0.84912"), "84.90 %"),  # more digits than the code backs
    ("It is 1.6× slower.", code(output="1.5"), "1.6"),
    ("About 12.7 M parameters.", code(output="11689512"), "12.7 M"),
    ("The weight moves by 9 steps.", code("8"), "9"),
    (r'<span class="arithmatex">\(2 \times 9 = 18\)</span>', code("2", "18"), "9"),
    ("Scratch reaches 12 of 25.", code(output="0.12 25"), "12"),       # no % sign: 0.12 is not 12
])
def test_an_unbacked_number_is_flagged(prose, backing, number):
    assert flagged(f"<p>{prose}</p>" + backing) == [number]


def test_comments_and_strings_in_code_do_not_back_a_number():
    block = ('<div class="highlight"><pre><code><span class="c1"># 92 % of the pixels</span>'
             '<span class="nb">print</span><span class="p">(</span><span class="s2">"92 %"</span>'
             '<span class="p">)</span></code></pre></div>')
    assert flagged("<p>92 % are sky.</p>" + block) == ["92 %"]
    assert flagged("<p>92 % are sky.</p>" + block + code(output="92 %")) == []


def test_figures_and_doctest_output_back_numbers():
    svg = '<svg><g><text x="1">accuracy 0.849</text></g></svg>'
    doctest = '<div class="highlight"><pre><code><span class="go">(6, 1)</span></code></pre></div>'
    assert flagged("<p>84.9 % and a 6 by 1 output.</p>" + svg + doctest) == []


def test_identifiers_versions_dates_and_references_are_not_numbers():
    prose = ("<p>conv2d, LeNet-5, VGG-16, fc6, a 2-D map, digits-5-9, torch 2.14.1, Python 3.10, "
             "on 2026-12-04, see section 3.3, table 2 and 表 2, issue #906, \"cuda:1\", ITU-R BT.601.</p>")
    assert flagged(prose) == []


def test_years_and_citations_pass_and_a_citation_covers_its_sentence_only():
    cite = '<sup id="fnref:1"><a class="footnote-ref" href="#fn:1">1</a></sup>'
    html = (f"<p>In 2012 its error was 15.3 %.{cite} The second was 26.2 %.</p>"
            '<div class="footnote"><ol><li id="fn:1"><p>Krizhevsky et al. 2012, table 2, 15.3 %.</p></li></ol></div>')
    assert flagged(html) == ["26.2 %"]
    zh = f"<p>它的错误率是 15.3%。{cite}第二名是 26.2%。</p>"
    assert flagged(zh) == ["26.2%"]


def test_a_citation_in_a_table_row_covers_the_row():
    cite = '<sup id="fnref:2"><a class="footnote-ref" href="#fn:2">2</a></sup>'
    table = (f"<table><tr><td>AlexNet{cite}</td><td>15.3 %</td></tr>"
             "<tr><td>VGG</td><td>7.3 %</td></tr></table>")
    assert flagged(table) == ["7.3 %"]


def test_vague_magnitudes_are_flagged_in_both_languages():
    assert flagged("<p>The scales differ by hundreds of times.</p>") == ["hundreds"]
    assert flagged("<p>尺度相差数百倍。</p>") == ["数百"]
    assert flagged("<p>It is several times faster.</p>") == ["several times"]


def test_the_allow_list_needs_its_context_and_page():
    entry = {"number": "2", "context": r"2×2 (pooling|池化)", "why": "the window size defines the layer",
             "pages": ["pooling"]}
    html = "<p>A 2×2 pooling halves the size.</p>"
    assert flagged(html, allow_list=[entry], topic="pooling") == []
    assert flagged(html, allow_list=[entry], topic="convolution") == ["2", "2"]
    assert flagged("<p>A 2×2 kernel.</p>", allow_list=[entry], topic="pooling") == ["2", "2"]


def test_the_allow_list_file_is_short_and_every_entry_says_why():
    entries = na.load_allow_list()
    assert len(entries) < 40
    assert all(len(e["why"].split()) >= 4 for e in entries)


def test_a_finding_is_one_line_with_page_language_number_and_sentence():
    [finding] = na.audit("<p>The output is 7 by 7.</p>" + code("6"), allow_list=[])[:1]
    line = finding.line("pooling", "en")
    assert "\n" not in line and "pooling [en] '7'" in line and "The output is 7 by 7." in line


def test_the_hook_logs_a_warning_that_fails_a_strict_build(caplog):
    class File:
        src_uri = "pooling.en.md"

    class Page:
        file = File()

    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        na.on_page_content("<p>It has 7 windows.</p>" + code("6"), Page(), {}, None)
    [record] = caplog.records
    assert record.levelno == logging.WARNING and record.name.startswith("mkdocs.")
    assert "pooling [en] '7'" in record.getMessage()


# --------------------------------------------------------------------------- the built site

def article(site, language, topic):
    html = built_page(site, language, topic).read_text("utf8")
    return html[html.index("<article"):html.index("</article>")]


def test_every_page_of_the_built_site_passes_the_audit(built_site):
    site, _ = built_site
    failures = [f.line(topic, language) for language in LANGUAGES for topic in TOPICS
                for f in na.audit(article(site, language, topic), topic)]
    assert failures == []


def mutate(text: str, rng: random.Random) -> str:
    """A stated number with one digit changed: 84.9 -> 87.9."""
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    i = rng.choice(digits)
    return text[:i] + rng.choice([d for d in "0123456789" if d != text[i]]) + text[i + 1:]


@pytest.mark.parametrize("language", LANGUAGES)
def test_changing_a_stated_number_in_a_built_page_is_caught(built_site, language):
    """Change each prose number of two or more significant digits of every built page to a value
    the page's code never shows, one sentence per change, beside the page's own code: the audit
    names every changed number."""
    site, _ = built_site
    rng = random.Random(0)
    checked = 0
    for topic in TOPICS:
        html = article(site, language, topic)
        prose, code_text = na.split_html(html)
        values = set(na.code_values(code_text))
        edited, expected = [], collections.Counter()
        for sentence in prose:
            if na.CITE in sentence:
                continue
            for stated in na.stated_numbers(sentence):
                if len(re.sub(r"\D", "", stated.text).lstrip("0")) < 2 or na.is_year(stated):
                    continue
                for _ in range(20):
                    changed = mutate(stated.text, rng)
                    new = na.stated_numbers(changed)
                    if new and not new[0].backed_by(values) and not na.is_year(new[0]):
                        break
                else:
                    continue
                # the stated number itself: not the same digits inside a longer number ("10" in
                # "1000") or an identifier ("50" in "ResNet-50")
                text = re.sub(rf"(?<![\w.,\-]){re.escape(stated.text)}(?![\d])", changed, sentence, count=1)
                if text != sentence:
                    edited.append(text)
                    expected[changed] += 1
        # one audit per page: the changed sentences, then the page itself with its highlighted code
        page = "".join(f"<p>{html_escape(text)}</p>" for text in edited) + html
        found = collections.Counter(f.number for f in na.audit(page, topic))
        assert found >= expected, (topic, expected - found)
        checked += sum(expected.values())
    print(f"{language}: {checked} changed numbers, every one named")
    assert checked > 100
