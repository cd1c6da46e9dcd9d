"""Every page as a Jupyter notebook in its language, and a link to it next to the page's title.

For each page (not the API reference, which is generated from docstrings) the build writes
`notebooks/<lang>/<topic>.ipynb` into the site, and at the end `notebooks-zh.zip` and
`notebooks-en.zip` with all notebooks of a language. A notebook holds:

- first, a code cell that checks that the installed `cnnref` is the version the site was built
  with (`cnnref.__version__`) and says how to install it if not;
- the page's prose as markdown cells (math stays `$…$`; links to other pages point at their
  notebooks; admonitions become block quotes, footnotes plain text);
- each executed `python` fence (`exec="on"`) as a code cell, in page order: the fences of a
  page's `session` run in order in the one kernel, as on the site; figures are drawn by the
  cells (`cnnref.plot.show` displays SVG in a kernel). A fence that the site does not execute
  stays a code block inside the markdown;
- each exercise (a `??? success` block whose fence calls `check("topic/n", answer, ...)`) as a
  cell `answer = None` for the reader's answer and a cell with the `check` call: the worked
  solution is left out.

The mapping is written here with nbformat, not jupytext: jupytext would make every python
fence a code cell (also those the site does not run, and the solutions), and knows nothing of
sessions or exercises; what is left (splitting lines at fences) is short.

A link "download notebook" goes right after the page's `<h1>`, in the page's language.
"""

from __future__ import annotations

import pathlib
import posixpath
import re
import textwrap
import zipfile

import nbformat
from mkdocs.plugins import event_priority
from mkdocs.utils import get_relative_url

FOLDER = "notebooks"
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<mark>`{3,}|~{3,})(?P<info>.*)$")
ADMONITION = re.compile(r'^(?P<indent>[ \t]*)(?P<kind>!!!|\?\?\?\+?)\s+(?P<type>[\w-]+)(?:\s+"(?P<title>[^"]*)")?\s*$')
CHECK = re.compile(r'check\("(?P<id>[^"]+)", answer, lang="(?P<lang>zh|en)"\)')
EXECUTED = re.compile(r'\bexec="(on|true|yes|1)"')
MD_LINK = re.compile(r"\]\((?!https?:|mailto:|#)(?P<path>[^)#\s]+)\.md(?P<anchor>#[^)\s]*)?\)")
FOOTNOTE_REF = re.compile(r"\[\^(?P<key>[^\]]+)\](?!:)")
FOOTNOTE_DEF = re.compile(r"^\[\^(?P<key>[^\]]+)\]:\s*", re.M)

WORDS = {
    "zh": {
        "link": "下载本页的 Jupyter notebook",
        "all": "所有页面（zip）",
        "answer": "answer = None  # 在这里写你的答案（要写函数的练习：先定义函数，再 answer = 函数名）",
        "missing": "没有安装 cnnref：在仓库目录里运行 `pip install -e .`，然后重启内核",
        "mismatch": "这个 notebook 由 cnnref {built} 生成，但安装的是 cnnref {{cnnref.__version__}}："
                    "检出仓库的 {built} 版本，在那里运行 `pip install -e .`，然后重启内核",
        "intro": "# 这个 notebook 由 cnnref {built} 的网站页面生成，需要同一版本的 cnnref 包。",
    },
    "en": {
        "link": "Download this page as a Jupyter notebook",
        "all": "all pages (zip)",
        "answer": "answer = None  # your answer here (for a function: define it, then answer = its name)",
        "missing": "cnnref is not installed: run `pip install -e .` in the repository, then restart the kernel",
        "mismatch": "this notebook was made by cnnref {built}, but cnnref {{cnnref.__version__}} is installed: "
                    "check out version {built} of the repository, run `pip install -e .` there, then restart the kernel",
        "intro": "# This notebook was made from a page of the cnnref {built} site; it needs that version of the package.",
    },
}


def topic_of(src_uri: str) -> tuple[str, str] | None:
    """("pooling", "en") for "pooling.en.md"; None for a page without a notebook (api/…).

    >>> topic_of("pooling.en.md"), topic_of("index.zh.md"), topic_of("api/shapes.en.md")
    (('pooling', 'en'), ('index', 'zh'), None)
    """
    match = re.match(r"(.*)\.(zh|en)\.md$", src_uri)
    if not match or match.group(1).startswith("api/"):
        return None
    return match.group(1), match.group(2)


def version_cell(lang: str, version: str) -> str:
    """The first cell: stop with a clear message unless cnnref `version` is installed."""
    words = WORDS[lang]
    return "\n".join([
        words["intro"].format(built=version),
        "import importlib.util",
        "",
        'if importlib.util.find_spec("cnnref") is None:',
        f"    raise ModuleNotFoundError({words['missing']!r})",
        "import cnnref",
        "",
        f"if cnnref.__version__ != {version!r}:",
        f"    raise RuntimeError(f{words['mismatch'].format(built=version)!r})",
        'print("cnnref", cnnref.__version__)',
    ])


def block_end(lines: list[str], start: int, indent: int) -> int:
    """The index after an indented block that starts below lines[start] (an admonition's body):
    it runs while lines are blank or indented deeper than `indent`."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def fence_end(lines: list[str], start: int) -> int:
    """The index of the closing line of the fence opened at lines[start]."""
    opening = FENCE.match(lines[start])
    mark = opening.group("mark")
    for i in range(start + 1, len(lines)):
        closing = FENCE.match(lines[i])
        if closing and closing.group("mark")[0] == mark[0] and len(closing.group("mark")) >= len(mark) \
                and not closing.group("info").strip():
            return i
    raise ValueError(f"notebooks: the fence opened on line {start + 1} is never closed")


def markdown_text(text: str, lang: str) -> str:
    """Page Markdown as Jupyter Markdown: links to pages -> their notebooks, footnotes -> text.

    >>> markdown_text("See [shapes](conv-shapes.md#grid)[^odena].\\n\\n[^odena]: A paper.", "en")
    'See [shapes](conv-shapes.ipynb#grid)<sup>odena</sup>.\\n\\n<sup>odena</sup> A paper.'
    """
    text = MD_LINK.sub(lambda m: f"]({notebook_link(m.group('path'), lang)}{m.group('anchor') or ''})", text)
    text = FOOTNOTE_DEF.sub(lambda m: f"<sup>{m.group('key')}</sup> ", text)
    return FOOTNOTE_REF.sub(lambda m: f"<sup>{m.group('key')}</sup>", text)


def notebook_link(path: str, lang: str) -> str:
    """A page's link target in the notebook folder: "conv-shapes" -> "conv-shapes.ipynb"; an API
    page (no notebook) stays a link to the site's page, relative to notebooks/<lang>/ in the site.

    >>> notebook_link("conv-shapes", "en"), notebook_link("api/shapes", "en"), notebook_link("api/shapes", "zh")
    ('conv-shapes.ipynb', '../../en/api/shapes/', '../../api/shapes/')
    """
    if path.startswith("api/"):
        return f"../../{'' if lang == 'zh' else lang + '/'}{path}/"
    return f"{posixpath.normpath(path)}.ipynb"


def page_notebook(markdown: str, lang: str, version: str) -> nbformat.NotebookNode:
    """The notebook of one page, from its Markdown source.

    >>> page = '''# Pooling
    ...
    ... Some prose, $x^2$.
    ...
    ... ```python exec="on" source="above" result="text" session="pooling"
    ... print(1 + 1)
    ... ```
    ...
    ... ```python
    ... not_run()
    ... ```
    ...
    ... **1.** A question.
    ...
    ... ??? success "Solution"
    ...
    ...     ```python exec="on" source="above" result="text"
    ...     answer = 2
    ...     print(check("pooling/1", answer, lang="en"))
    ...     assert check("pooling/1", answer, lang="en").correct
    ...     ```
    ... '''
    >>> nb = page_notebook(page, "en", "0.1.0")
    >>> [(c.cell_type, c.source.splitlines()[0]) for c in nb.cells[1:]]
    ... # doctest: +NORMALIZE_WHITESPACE
    [('markdown', '# Pooling'), ('code', 'print(1 + 1)'), ('markdown', '```python'),
     ('code', 'answer = None  # your answer here (for a function: define it, then answer = its name)'),
     ('code', 'from cnnref.exercises import check')]
    >>> nb.cells[-1].source.splitlines()[-1]
    'print(check("pooling/1", answer, lang="en"))'
    """
    lines = markdown.splitlines()
    cells = [nbformat.v4.new_code_cell(version_cell(lang, version))]
    prose: list[str] = []
    quote_end = 0  # lines before this index are an admonition's body: quoted

    def flush():
        while prose and prose[-1].strip() in ("", ">"):  # a quote's or the prose's trailing blank lines
            prose.pop()
        text = "\n".join(prose).strip("\n")
        if text.strip():
            cells.append(nbformat.v4.new_markdown_cell(markdown_text(text, lang)))
        prose.clear()

    i = 0
    while i < len(lines):
        line = lines[i]
        admonition = ADMONITION.match(line)
        fence = FENCE.match(line)
        if admonition:
            indent = len(admonition.group("indent"))
            end = block_end(lines, i, indent)
            body = lines[i + 1:end]
            checks = CHECK.findall("\n".join(body))
            if admonition.group("type") == "success" and checks:
                # an exercise's worked solution: a cell for the reader's answer, then the check
                flush()
                exercise_id, _ = checks[-1]
                cells.append(nbformat.v4.new_code_cell(WORDS[lang]["answer"]))
                cells.append(nbformat.v4.new_code_cell(
                    f'from cnnref.exercises import check\n\nprint(check("{exercise_id}", answer, lang="{lang}"))'))
                i = end
                continue
            # any other admonition: a block quote with its title; its body, one level out, quoted
            # line by line (a fence in it still becomes a code cell)
            title = admonition.group("title") or admonition.group("type").capitalize()
            prose.append(f"> **{title}**")
            lines[i + 1:end] = textwrap.dedent("\n".join(body)).splitlines()
            quote_end = end
            i += 1
            continue
        if fence:
            end = fence_end(lines, i)
            info = fence.group("info").strip()
            if info.split()[:1] in (["python"], ["py"]) and EXECUTED.search(info):
                flush()
                code = textwrap.dedent("\n".join(lines[i + 1:end]))
                cells.append(nbformat.v4.new_code_cell(code.strip("\n")))
            else:
                prose.extend(textwrap.dedent("\n".join(lines[i:end + 1])).splitlines())
            i = end + 1
            continue
        prose.append((f"> {line}" if line.strip() else ">") if i < quote_end else line)
        i += 1
    flush()
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.metadata["cnnref"] = {"version": version, "language": lang}
    return nb


def write_notebook(nb: nbformat.NotebookNode, path: pathlib.Path) -> None:
    """Validate and write a notebook (cell ids derived from its position: the same bytes each build)."""
    for n, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{n}"
    nbformat.validate(nb)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nbformat.writes(nb) + "\n", "utf8")


def write_zip(folder: pathlib.Path, archive: pathlib.Path) -> list[str]:
    """Zip the notebooks of one language's folder into `archive` under `notebooks-<lang>/`, with a
    fixed timestamp (the same bytes each build); returns the names written."""
    names = []
    tmp = archive.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*.ipynb")):
            name = f"{archive.stem}/{path.relative_to(folder).as_posix()}"
            info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, path.read_bytes())
            names.append(name)
    tmp.replace(archive)
    return names


def notebook_path(topic: str, lang: str) -> str:
    """The notebook's path in the site: "notebooks/en/pooling.ipynb"."""
    return f"{FOLDER}/{lang}/{topic}.ipynb"


def on_page_markdown(markdown, page, config, files):
    found = topic_of(page.file.src_uri)
    if found is None:
        return markdown
    import cnnref  # the version the pages' code runs against in this build

    topic, lang = found
    nb = page_notebook(markdown, lang, cnnref.__version__)
    write_notebook(nb, pathlib.Path(config.site_dir) / notebook_path(topic, lang))
    return markdown


@event_priority(50)  # before the number audit reads the page: the link holds no number anyway
def on_page_content(html, page, config, files):
    found = topic_of(page.file.src_uri)
    if found is None or "</h1>" not in html:
        return html
    topic, lang = found
    words = WORDS[lang]
    href = get_relative_url(notebook_path(topic, lang), page.url)
    zip_href = get_relative_url(f"{FOLDER}-{lang}.zip", page.url)
    link = (f'<p class="cnnref-notebook"><a href="{href}" download="{topic.replace("/", "-")}.ipynb">'
            f'{words["link"]}</a> · <a href="{zip_href}" download>{words["all"]}</a></p>')
    head, tail = html.split("</h1>", 1)
    return f"{head}</h1>\n{link}{tail}"


def on_post_build(config):
    # runs after each language's build (the i18n plugin builds the others inside the first):
    # the last call sees every language's notebooks
    folder = pathlib.Path(config.site_dir) / FOLDER
    if not folder.is_dir():
        return
    for lang_folder in sorted(p for p in folder.iterdir() if p.is_dir()):
        write_zip(lang_folder, pathlib.Path(config.site_dir) / f"{FOLDER}-{lang_folder.name}.zip")
