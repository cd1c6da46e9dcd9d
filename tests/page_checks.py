"""Checks of a built page's language: Chinese punctuation on Chinese pages, figures whose text is
SVG <text> in the page's language. Used by tests/test_page_language.py, and from the command
line on a site built with CNNREF_PAGES: `python -m tests.page_checks SITE_DIR [TOPIC ...]`."""

from __future__ import annotations

import pathlib
import re
import sys

from hooks.number_audit import split_html

CJK = r"\u3400-\u4dbf\u4e00-\u9fff"
HAS_CJK = re.compile(f"[{CJK}]")
MATH = re.compile(r'<(span|div) class="arithmatex">.*?</\1>', re.S)
INLINE_CODE = re.compile(r"<code\b.*?</code>", re.S)  # identifiers keep their ASCII: f(x, y)
# ASCII punctuation touching a Chinese character: 卷积,然后 / 卷积. / 见(下图) / "卷积"
ASCII_PUNCTUATION = re.compile(
    rf"[{CJK}][,;:?!]|[{CJK}]\.(?!\d)|[{CJK}]\s?\(|\)\s?[{CJK}]|\"[^\"]*[{CJK}][^\"]*\"|'[{CJK}][^']*'"
)
SVG = re.compile(r"<svg\b.*?</svg>", re.S)
TEXT = re.compile(r"<text\b[^>]*>([^<]*)</text>")
WORD = re.compile(r"[A-Za-z]{3,}")


def article(html: str) -> str:
    return html[html.index("<article"):html.index("</article>")] if "<article" in html else html


def zh_punctuation_problems(html: str) -> list[str]:
    """Sentences of a Chinese page that use ASCII punctuation or quotes in Chinese text
    (code and math are not prose and are skipped).

    >>> zh_punctuation_problems("<p>先卷积,再池化。</p><p>这是“引号”。</p>")
    ['先卷积,再池化。']
    """
    prose, _ = split_html(INLINE_CODE.sub(" ", MATH.sub(" ", article(html))))
    return [s for s in prose if ASCII_PUNCTUATION.search(s)]


def figure_language_problems(html: str, language: str) -> list[str]:
    """What is wrong with the figures of a page in `language`: a figure drawn as paths (its text
    is not SVG <text>), a Chinese figure with no Chinese text, an English one with Chinese.

    >>> zh = '<svg><text x="0">输入</text></svg>'
    >>> figure_language_problems(zh, "zh"), figure_language_problems(zh, "en")
    ([], ['figure 1 has Chinese text: 输入'])
    """
    problems = []
    for i, svg in enumerate(SVG.findall(article(html)), 1):
        texts = [t.strip() for t in TEXT.findall(svg) if t.strip()]
        words = " ".join(texts)
        if not texts:
            problems.append(f"figure {i} has no <text>: its labels are drawn as paths")
        elif language == "zh" and WORD.search(words) and not HAS_CJK.search(words):
            problems.append(f"figure {i} has English words and no Chinese: {words[:120]}")
        elif language == "en" and HAS_CJK.search(words):
            problems.append(f"figure {i} has Chinese text: {words[:120]}")
    return problems


def check_site(site: pathlib.Path, topics: set[str] | None = None) -> list[str]:
    lines = []
    for file in sorted(site.rglob("index.html")):
        path = file.parent.relative_to(site).as_posix()
        language, path = ("en", path[3:]) if path == "en" or path.startswith("en/") else ("zh", path)
        topic = path.removesuffix(".") or "index"
        if path.startswith(("search", "assets")) or topics and topic not in topics:
            continue
        html = file.read_text("utf8")
        lines += [f"{topic} [{language}] {p}" for p in figure_language_problems(html, language)]
        if language == "zh":
            lines += [f"{topic} [zh] ASCII punctuation: {s}" for s in zh_punctuation_problems(html)]
    return lines


if __name__ == "__main__":
    found = check_site(pathlib.Path(sys.argv[1]), set(sys.argv[2:]) or None)
    print("\n".join(found) or "page checks: no problem")
    sys.exit(1 if found else 0)
