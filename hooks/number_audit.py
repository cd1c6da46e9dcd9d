"""Refuse a number on a page that nothing on the page backs.

Every number a page states in its prose, headings, tables or math must be

(a) a value of the page's executed code or of its output: a numeric literal of a code block,
    anything a block printed (text results, doctest output) or drew (the text of its SVG
    figures), compared after rounding to the digits the prose shows (and as a percentage);
(b) in a sentence, table row or list item that cites its source with a footnote, or a year; or
(c) a definition on the short allow-list in ``number_audit.yml`` (each entry says why).

Everything else is logged as a warning, one line per number (page, language, number, sentence),
so ``mkdocs build --strict`` fails. Vague magnitudes ("hundreds of times", "数百倍") are
refused the same way: a page says the number or cites it.

Comments and string literals of a code block do not back a number (a comment is prose in
disguise, and ``print("92 %")`` would back anything): only what the code computes or prints.
"""

from __future__ import annotations

import dataclasses
import html.parser
import logging
import pathlib
import re

import yaml

ALLOW_LIST = pathlib.Path(__file__).with_name("number_audit.yml")
log = logging.getLogger("mkdocs.plugins.cnnref.number_audit")

CITE = "\x00"  # marks where a footnote reference stood in a prose unit

# pygments token classes (the short names pymdownx.highlight writes)
NUMBER_CLASSES = {"m", "mi", "mf", "mh", "mo", "mb", "il"}
OUTPUT_CLASSES = {"go", "gp"}  # doctest / console output, printed by the code
BLOCK_TAGS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "dt", "dd", "caption",
              "figcaption", "summary", "blockquote", "td", "th"}
ROW_CELLS = {"td", "th"}  # a table row is one unit: a citation in any cell covers the row
SKIP_TAGS = {"script", "style", "template"}

SENTENCE_END = re.compile(r"(?<=[。！？；])|(?<=[.!?;:])(?=\s)")
NUMBER = re.compile(
    r"(?P<body>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?[eE](?P<exp>[-+−]?\d+))?"
    r"(?P<scale>\s?(?:million|billion|thousand|千万|百万|万|亿)|\s?[kKMG](?![A-Za-z\-]))?"
    r"(?P<percent>\s?(?:%|％|percent(?:age points?)?\b|个百分点))?"
)
UNITS = re.compile(r"(?:px|ms|µs|us|ns|MiB|GiB|KiB|MB|GB|KB|kB|x|s)(?![A-Za-z])")
SCALES = {"million": 1e6, "billion": 1e9, "thousand": 1e3, "千万": 1e7, "百万": 1e6, "万": 1e4,
          "亿": 1e8, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9}
# Not numbers a reader takes as a claim: versions, dates, URLs, addresses, and references to a
# part of a cited work ("section 3.3", "table 2", "表 2", "issue #906")
NOT_NUMBERS = re.compile(
    r"\d+(?:\.\d+){2,}|\d{4}-\d{2}-\d{2}|[a-z]+://\S+|localhost:\d+"
    r"|\b(?:Python|PyTorch|torch|NumPy|numpy|CUDA|Chromium|mkdocs|Material)\s+\d+(?:\.\d+)*\+?"
    r"|\b(?:[Ss]ection|[Tt]able|[Ff]igure|[Ff]ig\.|[Ee]q\.|[Ee]quation|[Cc]hapter|[Aa]ppendix|[Pp]age|pp?\.|§)\s*\d+(?:\.\d+)*"
    r"|(?:表|图|式|节)\s*\d+(?:\.\d+)*|#\d+"
    r"|\bcuda:\d+|\bBT\.\d+"  # a device name; a standard's name (ITU-R BT.601)
)
VAGUE = re.compile(
    r"\b(?:dozens|hundreds|thousands|millions|billions|several times|many times|"
    r"orders? of magnitude)\b|数十|数百|数千|数万|上百|上千|上万|几十|几百|几千|几万|几倍|数倍|成百上千"
)


@dataclasses.dataclass(frozen=True)
class Stated:
    """A number as the prose states it."""

    text: str       # as written: "1,200", "84.9 %", "1.56×"
    value: float    # the value with its scale: 11.7 M -> 11.7e6
    decimals: int   # digits shown after the point
    scale: float
    percent: bool
    follows: str = ""  # the character after the number: a year is not followed by × or %

    def backed_by(self, values: set[float] | list[float]) -> bool:
        """True if some code value, rounded to the digits shown, is this number."""
        target = abs(self.value / self.scale)
        half = 0.5 * 10 ** -self.decimals * (1 + 1e-9)  # what rounding to the digits shown allows
        for v in values:
            candidates = (abs(v) / self.scale, abs(v) * 100) if self.percent else (abs(v) / self.scale,)
            if any(abs(c - target) <= half for c in candidates):
                return True
        return False


@dataclasses.dataclass(frozen=True)
class Finding:
    number: str
    sentence: str

    def line(self, page: str, language: str) -> str:
        return f"number audit: {page} [{language}] {self.number!r} is not backed: {self.sentence}"


def latex_to_text(tex: str) -> str:
    """Math as plain numbers: 10^{-5} -> 1e-5, 1{,}200 -> 1,200, thin spaces dropped."""
    tex = tex.replace("{,}", ",").replace(r"\,", "").replace(r"\!", "")
    tex = re.sub(r"(\d(?:\.\d+)?)\s*\\(?:times|cdot)\s*10\^\{?([-−]?\d+)\}?", r"\1e\2", tex)
    tex = re.sub(r"(?<![\d.])10\^\{?([-−]?\d+)\}?", r"1e\1", tex)
    tex = re.sub(r"\\[A-Za-z]+", " ", tex)  # commands: \frac, \times, \operatorname
    return tex.replace("−", "-")


def stated_numbers(text: str) -> list[Stated]:
    """The numbers a piece of prose states; identifiers (conv2d, LeNet-5, fc6), versions and
    dates are not numbers.

    >>> [s.value for s in stated_numbers("LeNet-5 has 61,706 parameters, 92 % of 2×2 windows")]
    [61706.0, 92.0, 2.0, 2.0]
    """
    text = NOT_NUMBERS.sub(" ", text)
    found = []
    for m in NUMBER.finditer(text):
        start, end = m.span()
        before = " " + text[max(0, start - 2):start]  # never empty: "" is in every string
        after = text[end:end + 3]
        if (before[-1].isalnum() or before[-1] in "_.") and not (before[-1] == "x" and before[-2].isdigit()):
            continue  # conv2d, x1, torch.2 (but the second 2 of 2x2 is a number)
        if before[-1] in "-‑" and before[-2].isalnum():
            continue  # LeNet-5, VGG-16, digits-5-9
        if (after[:1].isalpha() and after[:1].isascii() and not m.group("scale") and not UNITS.match(after)
                or after[:2] in ("-D", "-d")):
            continue  # 2D, 2-D, 1st, 3b
        body, exp = m.group("body"), m.group("exp")
        decimals = len(body.split(".")[1]) if "." in body else 0
        value = float(body.replace(",", ""))
        if exp:
            value *= 10 ** int(exp.replace("−", "-"))
            decimals = max(0, decimals - int(exp.replace("−", "-")))
        scale = SCALES.get((m.group("scale") or "").strip(), 1.0)
        follows = text[end:].lstrip()[:1]
        found.append(Stated(m.group(0).strip(), value * scale, decimals, scale, bool(m.group("percent")), follows))
    return found


def code_values(text: str) -> list[float]:
    """Every number in code output or a numeric literal (1_000, 1e-3, 0.849, 11,689,512)."""
    values = []
    for m in re.finditer(r"(?<![A-Za-z_])(\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?)", text):
        try:
            values.append(float(m.group(1).replace("_", "")))
        except ValueError:
            pass
    for m in re.finditer(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        values.append(float(m.group(0).replace(",", "")))
    return values


def is_year(s: Stated) -> bool:
    return (s.decimals == 0 and s.scale == 1 and not s.percent and 1940 <= s.value <= 2039
            and "," not in s.text and s.follows not in ("×", "x", "*", "%"))


class _Splitter(html.parser.HTMLParser):
    """Split a page's HTML into prose units (with a citation mark) and code text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, set[str], str]] = []  # (tag, classes, role)
        self.units: list[str] = []
        self.open_units: list[list[str]] = [[]]
        self.code: list[str] = []

    def role(self) -> str:
        return self.stack[-1][2] if self.stack else "prose"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        classes = set((attrs.get("class") or "").split())
        role = self.role()
        if role in ("skip",) or tag in SKIP_TAGS or "headerlink" in classes or "footnote" in classes:
            role = "skip"
        elif tag == "sup" and (attrs.get("id") or "").startswith("fnref"):
            self.open_units[-1].append(CITE)
            role = "skip"
        elif tag == "svg":
            role = "output"
        elif tag == "pre":
            role = "code"
        elif role in ("code", "number", "output-in-code", "ignore") and tag == "span":
            if classes & NUMBER_CLASSES:
                role = "number"
            elif classes & OUTPUT_CLASSES:
                role = "output-in-code"
            elif classes:
                role = "ignore"
        elif role == "prose" and "arithmatex" in classes:
            role = "math"
        if tag in ("br", "img", "hr", "input", "meta", "link"):
            return  # void elements have no end tag
        self.stack.append((tag, classes, role))
        if (role in ("prose", "math") and tag in BLOCK_TAGS and not (tag in ROW_CELLS and self.in_row())
                or role == "math" and tag == "div"):
            self.open_units.append([])

    def in_row(self) -> bool:
        return any(t == "tr" for t, _, _ in self.stack[:-1])

    def handle_endtag(self, tag):
        if not any(t == tag for t, _, _ in self.stack):
            return  # a stray end tag (<br/> reported as start + end)
        while self.stack:
            open_tag, _, role = self.stack.pop()
            if (role in ("prose", "math") and open_tag in BLOCK_TAGS and not (open_tag in ROW_CELLS and self.in_row_after_pop())
                    or role == "math" and open_tag == "div"):
                self.units.append("".join(self.open_units.pop()))
            elif open_tag in ROW_CELLS:
                self.open_units[-1].append(" | ")
            if open_tag == tag:
                break

    def in_row_after_pop(self) -> bool:
        return any(t == "tr" for t, _, _ in self.stack)

    def handle_data(self, data):
        role = self.role()
        if role == "prose":
            self.open_units[-1].append(data)
        elif role == "math":
            self.open_units[-1].append(latex_to_text(data))
        elif role in ("number", "output-in-code", "output"):
            self.code.append(data)
        elif role == "code":
            # untokenised text of a <pre>: a result block (lexer "text") is only this, while in
            # highlighted source it is the whitespace between tokens
            self.code.append(data)

    def close(self):
        super().close()
        while len(self.open_units) > 1:
            self.units.append("".join(self.open_units.pop()))
        self.units.append("".join(self.open_units[0]))


def sentences(unit: str) -> list[str]:
    """A prose unit cut into sentences; a citation mark stays with the sentence it ends."""
    unit = re.sub(rf"([。！？.!?;；:]+)({CITE}+)", r"\2\1", unit)
    parts = [p.strip() for p in SENTENCE_END.split(unit)]
    return [p for p in parts if p]


def split_html(content: str) -> tuple[list[str], str]:
    """(prose sentences, code text) of a page's HTML."""
    parser = _Splitter()
    parser.feed(content)
    parser.close()
    prose = [s for unit in parser.units for s in sentences(" ".join(unit.split()))]
    return prose, " ".join(parser.code)


def load_allow_list(path: pathlib.Path = ALLOW_LIST) -> list[dict]:
    """The allow-list: each entry has `number` (as written), `context` (a regular expression the
    sentence must match), `why` (a non-empty reason) and optionally `pages` (topics)."""
    entries = yaml.safe_load(path.read_text("utf8")) or []
    for i, entry in enumerate(entries):
        missing = {"number", "context", "why"} - set(entry)
        if missing or not str(entry.get("why", "")).strip():
            raise ValueError(f"number_audit.yml: entry {i} needs number, context and a why; missing {sorted(missing)}")
        re.compile(entry["context"])
    return entries


def allowed(number: str, sentence: str, topic: str, allow_list: list[dict]) -> bool:
    return any(
        str(e["number"]) == number and re.search(e["context"], sentence)
        and (not e.get("pages") or topic in e["pages"])
        for e in allow_list
    )


def audit(content: str, topic: str = "", allow_list: list[dict] | None = None) -> list[Finding]:
    """The numbers of a page's HTML that nothing backs.

    >>> page = '<p>The output is 6 by 6.</p><pre><code><span class="mi">6</span></code></pre>'
    >>> audit(page, allow_list=[])
    []
    >>> audit(page.replace("6 by 6", "7 by 6"), allow_list=[])
    [Finding(number='7', sentence='The output is 7 by 6.')]
    """
    allow_list = load_allow_list() if allow_list is None else allow_list
    prose, code = split_html(content)
    values = set(code_values(code))
    findings = []
    for sentence in prose:
        cited = CITE in sentence
        shown = sentence.replace(CITE, "")
        if cited:
            continue
        for s in stated_numbers(shown):
            if is_year(s) or s.backed_by(values) or allowed(s.text, shown, topic, allow_list):
                continue
            findings.append(Finding(s.text, shown))
        for m in VAGUE.finditer(shown):
            if not allowed(m.group(0), shown, topic, allow_list):
                findings.append(Finding(m.group(0), shown))
    return findings


def topic_of(page) -> tuple[str, str]:
    """("pooling", "en") for docs/pooling.en.md."""
    src = page.file.src_uri
    match = re.match(r"(.*)\.(zh|en)\.md$", src)
    return (match.group(1), match.group(2)) if match else (src.removesuffix(".md"), "")


def on_page_content(html_text, page, config, files):
    topic, language = topic_of(page)
    for finding in audit(html_text, topic):
        log.warning(finding.line(topic, language))
    return html_text


def audit_site(site: pathlib.Path, topics: set[str] | None = None) -> list[str]:
    """The audit's lines for a built site (every page, or the given topics): the same check as the
    build, for a site built without `--strict` or with CNNREF_PAGES."""
    lines = []
    for file in sorted(site.rglob("index.html")):
        path = file.parent.relative_to(site).as_posix()
        language, path = ("en", path[3:]) if path == "en" or path.startswith("en/") else ("zh", path)
        topic = path.removesuffix("/").removesuffix(".") or "index"
        text = file.read_text("utf8")
        if "<article" not in text or path.startswith(("search", "assets")) or topics and topic not in topics:
            continue
        content = text[text.index("<article"):text.index("</article>")]
        lines += [f.line(topic, language) for f in audit(content, topic)]
    return lines


if __name__ == "__main__":  # python -m hooks.number_audit SITE_DIR [TOPIC ...]
    import sys

    found = audit_site(pathlib.Path(sys.argv[1]), set(sys.argv[2:]) or None)
    print("\n".join(found) or "number audit: every number is backed")
    sys.exit(1 if found else 0)
