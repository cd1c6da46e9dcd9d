"""Helpers for the tests that look at the docs as a whole: pages, fences, the built site."""

from __future__ import annotations

import dataclasses
import html.parser
import io
import json
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


def built_page(site: pathlib.Path, language: str, topic: str) -> pathlib.Path:
    """The HTML file of a page in a built site."""
    return site / page_url(language, topic).lstrip("/") / "index.html"


class _StartTags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def start_tags(text: str) -> list[tuple[str, dict[str, str | None]]]:
    """(tag, attributes) of every element of an HTML page, in order: what an element links to or
    loads, not the text of code listings (where an API page shows `<img src="...` in a string)."""
    parser = _StartTags()
    parser.feed(text)
    return parser.found


def mkdocs_command() -> list[str]:
    """The `mkdocs` console script of this Python's environment: what the README's `mkdocs build`
    runs. Unlike `python -m mkdocs`, it does not put the working directory on sys.path."""
    script = pathlib.Path(sys.executable).with_name("mkdocs")
    if not script.exists():
        raise FileNotFoundError(f"no mkdocs console script beside {sys.executable}: pip install -e '.[docs]'")
    return [str(script)]


@dataclasses.dataclass
class Build:
    """A site build running in the background (`start_build`): its process, where its site and
    its output go, and the SITE_URL it builds for."""

    process: subprocess.Popen
    site_dir: pathlib.Path
    site_url: str | None
    output: tuple  # (stdout, stderr) files, read back by finish_build


def start_build(site_dir: pathlib.Path, site_url: str | None = None,
                env: dict[str, str] | None = None) -> Build:
    """Start `mkdocs build --strict` of the whole site into site_dir, from the repository root, by
    the console script; SITE_URL=site_url when given (else mkdocs.yml's default); `env` adds to the
    environment. Its output goes to files beside the site (a pipe nobody reads would fill up and
    stall the build); `finish_build` waits for it."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", **(env or {})}
    env.pop("SITE_URL", None)
    if site_url is not None:
        env["SITE_URL"] = site_url
    output = tuple(open(f"{site_dir}.{name}", "w+", encoding="utf8") for name in ("stdout", "stderr"))
    process = subprocess.Popen([*mkdocs_command(), "build", "--strict", "--site-dir", str(site_dir)],
                               cwd=ROOT, stdout=output[0], stderr=output[1], text=True, env=env)
    return Build(process, site_dir, site_url, output)


def finish_build(build: Build) -> subprocess.CompletedProcess:
    """Wait for a build `start_build` started; what it printed and returned is kept beside the
    site, in `<site_dir>.build.json` (see load_build)."""
    returncode = build.process.wait()
    stdout, stderr = (f.seek(0) or f.read() for f in build.output)
    for f in build.output:
        f.close()
    record = {"args": build.process.args, "returncode": returncode, "stdout": stdout, "stderr": stderr,
              "site_url": build.site_url}
    pathlib.Path(f"{build.site_dir}.build.json").write_text(json.dumps(record), "utf8")
    return subprocess.CompletedProcess(build.process.args, returncode, stdout, stderr)


def build_site(site_dir: pathlib.Path, site_url: str | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`start_build` and `finish_build`: the whole site, built now."""
    return finish_build(start_build(site_dir, site_url, env))


def load_build(site_dir: pathlib.Path) -> tuple[subprocess.CompletedProcess, str | None]:
    """The build of site_dir that build_site recorded, and the SITE_URL it was built for."""
    path = pathlib.Path(f"{site_dir}.build.json")
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: build the site with `python -m tests.docs_helpers {site_dir} URL`")
    record = json.loads(path.read_text("utf8"))
    return (subprocess.CompletedProcess(record["args"], record["returncode"], record["stdout"], record["stderr"]),
            record["site_url"])


if __name__ == "__main__":
    # A site for `pytest --built-site DIR` (tests/conftest.py): the browser tests without a build.
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests.docs_helpers SITE_DIR http://127.0.0.1:PORT/PREFIX/")
    completed = build_site(pathlib.Path(sys.argv[1]), sys.argv[2])
    sys.stderr.write(completed.stderr[-3000:])
    sys.exit(completed.returncode)
