"""The glossary (hooks/glossary.yml): its page in both languages, and the same terms in the
headings of every page: where a Chinese heading uses a glossary term, the English heading in
the same place (headings paired by order, level by level) uses its English term."""

from __future__ import annotations

import html
import re

import pytest

from hooks.glossary import load_glossary
from tests.docs_helpers import markdown_parser, page_url, pages

TOPICS = sorted(pages("zh"))
GLOSSARY = load_glossary()


def headings(path) -> list[tuple[int, str]]:
    """(level, text) of each Markdown heading of a page, code fences left out."""
    tokens = markdown_parser().parse(path.read_text("utf8"))
    found = []
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type == "heading_open":
            text = re.sub(r"\s*\{[^}]*\}\s*$", "", inline.content)  # an attr_list {#anchor}
            found.append((int(opening.tag[1]), text))
    return found


def chinese_terms(heading: str) -> list[dict]:
    """The glossary entries a Chinese heading uses. Longer forms are matched first and masked,
    so 池化层 counts as "pooling layer" and not also as "pooling"."""
    forms = sorted(((form, entry) for entry in GLOSSARY for form in entry["zh"] + entry.get("zh_match", [])),
                   key=lambda item: -len(item[0]))
    used = []
    for form, entry in forms:
        if form in heading:
            heading = heading.replace(form, "\0" * len(form))
            if entry not in used:
                used.append(entry)
    return used


def uses_english_term(heading: str, entry: dict) -> bool:
    return any(form.lower() in heading.lower() for form in entry["en"] + entry.get("en_match", []))


def mismatches(zh_heading: str, en_heading: str) -> list[str]:
    """The glossary terms of the Chinese heading that the English heading lacks."""
    return [entry["en"][0] for entry in chinese_terms(zh_heading) if not uses_english_term(en_heading, entry)]


@pytest.mark.parametrize("topic", TOPICS)
def test_english_headings_use_the_english_terms_of_their_chinese_twins(topic):
    zh, en = headings(pages("zh")[topic]), headings(pages("en")[topic])
    assert [level for level, _ in zh] == [level for level, _ in en], \
        f"{topic}: the two languages have different headings\n{zh}\n{en}"
    problems = [f"h{level}: {zh_text!r} vs {en_text!r} lacks {missing}"
                for (level, zh_text), (_, en_text) in zip(zh, en)
                if (missing := mismatches(zh_text, en_text))]
    assert problems == [], f"{topic}: use the glossary's English terms (hooks/glossary.yml)"


@pytest.mark.parametrize("zh_heading, en_heading, missing", [
    ("池化层", "Pooling layers", []),
    ("池化层", "Pooling", ["pooling layer"]),            # 池化层 asks for more than 池化
    ("转置卷积", "Transposed convolution", []),
    ("转置卷积", "Upsampling", ["transposed convolution"]),
    ("卷积神经网络的层级结构", "The layer hierarchy of a CNN", []),
    ("步幅、填充与空洞", "Stride, padding and dilation", []),
    ("步幅与填充", "Stride and margins", ["padding"]),
    ("微调预训练模型", "Fine-tuning a pretrained model", []),
    ("安装与运行", "Installing and running", []),
])
def test_the_heading_check_catches_a_missing_term(zh_heading, en_heading, missing):
    assert mismatches(zh_heading, en_heading) == missing


def test_the_glossary_has_the_terms_the_site_agreed_on():
    pairs = {(entry["zh"][0], entry["en"][0]) for entry in GLOSSARY}
    for pair in [("卷积", "convolution"), ("池化", "pooling"), ("感受野", "receptive field"), ("步幅", "stride"),
                 ("填充", "padding"), ("空洞卷积", "dilated convolution"), ("转置卷积", "transposed convolution"),
                 ("微调", "fine-tuning"), ("特征图", "feature map"), ("权值共享", "weight sharing"),
                 ("全连接层", "fully connected layer"), ("激活函数", "activation function"), ("批尺寸", "batch size"),
                 ("白化", "whitening"), ("池化层", "pooling layer"), ("学习率", "learning rate")]:
        assert pair in pairs
    forms = [form for entry in GLOSSARY for form in entry["zh"] + entry.get("zh_match", [])]
    assert len(forms) == len(set(forms)), "a Chinese form belongs to two entries"


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_glossary_page_lists_every_term(built_site, language):
    site, _ = built_site
    text = html.unescape((site / page_url(language, "glossary").lstrip("/") / "index.html").read_text("utf8"))
    rows = re.findall(r"<tr>(.*?)</tr>", text, re.S)
    assert len(rows) == len(GLOSSARY) + 1  # and the header
    for entry, row in zip(GLOSSARY, rows[1:]):
        cells = [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        other = "en" if language == "zh" else "zh"
        # a definition may put code in backticks; the rendered cell shows it without them
        assert cells == [" / ".join(entry[language]), " / ".join(entry[other]), entry[f"{language}_def"].replace("`", "")]
