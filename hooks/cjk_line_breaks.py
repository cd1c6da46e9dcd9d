"""Drop the line breaks inside Chinese sentences.

A Chinese paragraph wrapped over several source lines keeps its line breaks in the HTML, and
the browser shows each as a space: "笔记里丢失的公式、 缺失的插图". This hook removes a line
break between two Chinese characters (or full-width punctuation marks), and one right after a
full-width punctuation mark, everywhere but in <pre>, <script>, <style> and <textarea> (code
keeps its lines).
"""

import re

CJK = r"[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
PUNCTUATION = r"[\u3000-\u303f\uff00-\uffef]"  # full-width: 。，、；：！？（）「」 ...
BREAK = re.compile(rf"(?<={CJK})[ \t]*\n[ \t]*(?={CJK})|(?<={PUNCTUATION})[ \t]*\n[ \t]*")
KEEP = re.compile(r"(<(pre|script|style|textarea)\b.*?</\2>)", re.S | re.I)


def join_cjk_lines(html: str) -> str:
    """Remove the line breaks between two Chinese characters outside code.

    >>> join_cjk_lines("<p>公式、\\n缺失的插图</p><pre>甲\\n乙</pre>")
    '<p>公式、缺失的插图</p><pre>甲\\n乙</pre>'
    """
    parts = KEEP.split(html)
    # split() with two groups yields: text, whole block, tag name, text, ...
    out = []
    for i in range(0, len(parts), 3):
        out.append(BREAK.sub("", parts[i]))
        if i + 1 < len(parts):
            out.append(parts[i + 1])
    return "".join(out)


def on_page_content(html, page, config, files):
    return join_cjk_lines(html)
