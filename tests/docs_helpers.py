"""Helpers for the tests that look at the docs as a whole: pages, fences, the built site."""

from __future__ import annotations

import io
import os
import pathlib
import subprocess
import sys
import tokenize

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LANGUAGES = ("zh", "en")


def pages(language: str) -> dict[str, pathlib.Path]:
    """Topic name (path without the language suffix) -> page, for one language."""
    suffix = f".{language}.md"
    return {str(p.relative_to(DOCS))[: -len(suffix)]: p for p in sorted(DOCS.rglob(f"*{suffix}"))}


# Python 3.12+ splits f-strings into START / MIDDLE / END; MIDDLE is their literal text.
STRING_TOKENS = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}


def markdown_parser():
    """CommonMark plus admonitions, so fences inside `!!! note` blocks are collected too."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.admon import admon_plugin

    return MarkdownIt("commonmark").use(admon_plugin)


def python_fences(path: pathlib.Path) -> list[tuple[int, str, str]]:
    """(first code line, info string, code) of each python fence of a Markdown file."""
    fences = []
    for token in markdown_parser().parse(path.read_text("utf8")):
        if token.type == "fence" and token.map and token.info.split()[:1] in (["python"], ["py"]):
            if "notest" not in token.info.split():
                fences.append((token.map[0] + 1, token.info, token.content))
    return fences


def code_shape(code: str) -> list[tuple[int, str]]:
    """The code as Python tokens, with comments dropped and string contents blanked:
    what must be the same in both languages (comments and printed messages are translated)."""
    shape = []
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL):
            continue
        if tok.type in STRING_TOKENS:
            shape.append((tok.type, "<str>"))
        else:
            shape.append((tok.type, tok.string))
    return shape


def page_url(language: str, topic: str) -> str:
    """The site path of a page: "/" and "/en/" for the home page, "/en/conv-shapes/" for the
    English conv-shapes page (Chinese is the default language, at the root)."""
    prefix = "" if language == "zh" else "en/"
    path = "" if topic == "index" else topic.removesuffix("/index") + "/"
    return f"/{prefix}{path}"


def build_site(site_dir: pathlib.Path) -> subprocess.CompletedProcess:
    """`mkdocs build --strict` of the whole site into site_dir."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
