"""Render the glossary (hooks/glossary.yml, the one place the site's terms are kept) into
the glossary page of each language, where the page says `<!-- glossary -->`.

tests/test_glossary.py reads the same file through `load_glossary()`.
"""

from __future__ import annotations

import pathlib

import yaml

GLOSSARY = pathlib.Path(__file__).with_name("glossary.yml")
PLACEHOLDER = "<!-- glossary -->"
HEADERS = {
    "zh": ("中文", "English", "说明"),
    "en": ("English", "中文", "Meaning"),
}
KEYS = {"zh", "en", "zh_match", "en_match", "page", "zh_def", "en_def"}


def load_glossary(path: pathlib.Path = GLOSSARY) -> list[dict]:
    """The entries of glossary.yml, checked: each has zh, en (non-empty lists), zh_def and en_def."""
    entries = yaml.safe_load(path.read_text("utf8"))
    for i, entry in enumerate(entries):
        unknown = set(entry) - KEYS
        if unknown:
            raise ValueError(f"load_glossary: entry {i} ({entry.get('zh')}) has unknown keys {sorted(unknown)}")
        for key in ("zh", "en"):
            if not isinstance(entry.get(key), list) or not entry[key]:
                raise ValueError(f"load_glossary: entry {i} needs a non-empty list {key!r}, got {entry.get(key)!r}")
        for key in ("zh_def", "en_def"):
            if not isinstance(entry.get(key), str):
                raise ValueError(f"load_glossary: entry {i} ({entry['zh'][0]}) needs a sentence {key!r}")
    return entries


def render_table(language: str, docs_dir: pathlib.Path, entries: list[dict] | None = None) -> str:
    """The glossary as a Markdown table for one language; a term links to the page that
    explains it when that page exists in docs_dir."""
    other = "en" if language == "zh" else "zh"
    rows = ["| " + " | ".join(HEADERS[language]) + " |", "| --- | --- | --- |"]
    for entry in entries if entries is not None else load_glossary():
        term = " / ".join(entry[language])
        page = entry.get("page")
        if page and (docs_dir / f"{page}.{language}.md").exists():
            term = f"[{term}]({page}.md)"
        cells = (term, " / ".join(entry[other]), entry[f"{language}_def"])
        rows.append("| " + " | ".join(c.replace("|", r"\|") for c in cells) + " |")
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):
    if PLACEHOLDER not in markdown:
        return markdown
    language = getattr(page.file, "locale", None) or config.theme["language"]
    table = render_table(language, pathlib.Path(config.docs_dir))
    # md_in_html: the wrapper lets the stylesheet fit the table to a phone's width
    return markdown.replace(PLACEHOLDER, f'<div class="cnnref-glossary" markdown="1">\n\n{table}\n\n</div>')
