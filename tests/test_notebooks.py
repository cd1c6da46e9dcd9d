"""The site's notebooks: one per page and language, made by hooks/notebooks.py at build time.

Each runs top to bottom in a fresh kernel (this is the suite's second run of the pages' code,
after the site build); at most two kernels at a time. The build and the kernels share the
results of `cnnref.experiments.once` through a cache folder (tests/conftest.py, `once_cache`),
so a multi-seed experiment runs once per test run, not three times.
"""

from __future__ import annotations

import concurrent.futures
import textwrap
import zipfile

import nbformat
import pytest

import cnnref
from cnnref.exercises.messages import MESSAGES
from hooks.notebooks import CHECK, EXECUTED, notebook_path
from tests.conftest import require_build
from tests.docs_helpers import LANGUAGES, page_url, pages, python_fences
from tests.notebook_runner import run_notebook

NOTEBOOKS = [(lang, topic) for lang in LANGUAGES for topic in pages(lang) if not topic.startswith("api/")]
PARALLEL = 2  # kernels at a time: the machine has 2 cores


@pytest.fixture(scope="session")
def notebook_runs(built_site, once_cache):
    """(lang, topic) -> a future of its Run; all notebooks start at once, PARALLEL at a time."""
    site = require_build(built_site)
    pool = concurrent.futures.ThreadPoolExecutor(PARALLEL)
    futures = {(lang, topic): pool.submit(run_notebook, site / notebook_path(topic, lang), once_cache)
               for lang, topic in NOTEBOOKS}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def printed(cell) -> str:
    """What a cell printed: its stream outputs joined (a busy kernel may send one print in pieces)."""
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")


def code_cells(nb) -> list[str]:
    return [c.source for c in nb.cells if c.cell_type == "code"]


def page_code(lang: str, topic: str) -> tuple[list[str], list[str]]:
    """(the executed fences that are not solutions, the exercise ids) of a page, in order."""
    fences, exercises = [], []
    for _, info, code in python_fences(pages(lang)[topic]):
        if not EXECUTED.search(info):
            continue
        found = CHECK.findall(code)
        if found:
            exercises.append(found[-1][0])
        else:
            fences.append(textwrap.dedent(code).strip("\n"))
    return fences, exercises


@pytest.mark.starts_background
def test_every_page_of_both_languages_has_a_notebook_to_run(notebook_runs, built_site):
    site = require_build(built_site)
    assert set(notebook_runs) == set(NOTEBOOKS)
    assert sorted(site.glob("notebooks/*/*.ipynb")) == sorted(site / notebook_path(t, l) for l, t in NOTEBOOKS)


@pytest.mark.waits_for_background
@pytest.mark.parametrize("lang,topic", NOTEBOOKS)
def test_notebook_runs_top_to_bottom_in_a_fresh_kernel(notebook_runs, lang, topic):
    run = notebook_runs[lang, topic].result()
    assert run.error is None, f"{run.path}: {run.error}"
    outputs = [o for c in run.notebook.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert code_cells(run.notebook) and printed(run.notebook.cells[0]) == f"cnnref {cnnref.__version__}\n"
    # an exercise's check cell, run before the reader answers, asks for an answer
    for cell in run.notebook.cells:
        if cell.cell_type == "code" and CHECK.search(cell.source):
            assert printed(cell) == MESSAGES["none"][lang] + "\n", cell.source
            assert all(o.output_type == "stream" for o in cell.outputs), cell.source
    # a figure is drawn by its cell and shown as SVG, not printed as text
    for cell in run.notebook.cells:
        if cell.cell_type == "code" and "show(fig)" in cell.source:
            assert any("image/svg+xml" in o.get("data", {}) for o in cell.outputs), cell.source[:200]
            assert not any("<svg" in o.get("text", "") for o in cell.outputs)


@pytest.mark.parametrize("lang,topic", NOTEBOOKS)
def test_notebook_holds_the_pages_code_and_exercises_without_solutions(built_site, lang, topic):
    site = require_build(built_site)
    nb = nbformat.read(site / notebook_path(topic, lang), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["cnnref"] == {"version": cnnref.__version__, "language": lang}
    fences, exercises = page_code(lang, topic)
    cells = code_cells(nb)
    assert f"if cnnref.__version__ != {cnnref.__version__!r}:" in cells[0] and "pip install -e ." in cells[0]
    checks = [CHECK.search(c) for c in cells]
    assert [m.group("id") for m in checks if m] == exercises
    assert all(m.group("lang") == lang for m in checks if m)
    answers = [c for c in cells[1:] if c.startswith("answer = None")]
    assert len(answers) == len(exercises)
    assert [c for c, m in zip(cells[1:], checks[1:]) if not m and c not in answers] == fences
    # no worked solution in the notebook
    solution_lines = {line.strip() for _, info, code in python_fences(pages(lang)[topic]) if CHECK.search(code)
                      for line in code.splitlines() if line.strip().startswith("answer =")}
    assert not solution_lines & {line.strip() for c in cells for line in c.splitlines()}
    # the prose is there, in the page's language: the page's first heading opens the first markdown cell
    title = next(line for line in pages(lang)[topic].read_text("utf8").splitlines() if line.startswith("# "))
    assert next(c.source for c in nb.cells if c.cell_type == "markdown").startswith(title)


def test_each_zip_holds_one_notebook_per_page_of_its_language(built_site):
    site = require_build(built_site)
    for lang in LANGUAGES:
        expected = {f"notebooks-{lang}/{topic}.ipynb" for l, topic in NOTEBOOKS if l == lang}
        with zipfile.ZipFile(site / f"notebooks-{lang}.zip") as archive:
            assert set(archive.namelist()) == expected
            for name in expected:
                topic = name.split("/", 1)[1].removesuffix(".ipynb")
                assert archive.read(name) == (site / notebook_path(topic, lang)).read_bytes()


def test_the_version_cell_stops_with_how_to_install(built_site, monkeypatch):
    site = require_build(built_site)
    for lang, words in (("zh", "然后重启内核"), ("en", "then restart the kernel")):
        cell = nbformat.read(site / notebook_path("pooling", lang), as_version=4).cells[0].source
        monkeypatch.setattr(cnnref, "__version__", "0.0.0")
        with pytest.raises(RuntimeError, match=rf"0\.0\.0.*pip install -e \..*{words}"):
            exec(cell, {})
        monkeypatch.undo()
        monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
        with pytest.raises(ModuleNotFoundError, match=rf"pip install -e \..*{words}"):
            exec(cell, {})
        monkeypatch.undo()


@pytest.mark.parametrize("lang,topic", [("zh", "pooling"), ("en", "conv-shapes"), ("en", "index")])
def test_download_link_next_to_the_title_gives_the_pages_notebook(browser, lang, topic):
    page = browser.open(page_url(lang, topic))
    link = page.locator("h1 + p.cnnref-notebook a[href$='.ipynb']")
    assert link.inner_text() == {"zh": "下载本页的 Jupyter notebook", "en": "Download this page as a Jupyter notebook"}[lang]
    with page.expect_download() as download:
        link.click()
    nb = nbformat.reads(download.value.path().read_text("utf8"), as_version=4)
    assert download.value.suggested_filename == f"{topic}.ipynb"
    assert nb.metadata["cnnref"]["language"] == lang
    fences, exercises = page_code(lang, topic)
    for fence in fences:
        assert fence in code_cells(nb)
    # the zip link next to it downloads the language's zip
    with page.expect_download() as download:
        page.locator("p.cnnref-notebook a[href$='.zip']").click()
    with zipfile.ZipFile(download.value.path()) as archive:
        assert f"notebooks-{lang}/{topic}.ipynb" in archive.namelist()
    assert not browser.errors and not browser.external


def test_the_hooks_examples():
    import doctest

    import hooks.notebooks

    failures, tried = doctest.testmod(hooks.notebooks)
    assert failures == 0 and tried >= 5


def test_solutions_leave_no_trace_and_notes_keep_their_code():
    from hooks.notebooks import page_notebook

    page = textwrap.dedent('''\
        # Title

        !!! note "Careful"

            A note, with code the site runs:

            ```python exec="on" session="t"
            y = 3
            ```

        **1.** Question.

        ??? success "Solution"

            ```python exec="on" source="above" result="text"
            import numpy as np


            def secret(x):
                return x + 1


            answer = secret
            print(check("t/1", answer, lang="zh"))
            assert check("t/1", answer, lang="zh").correct
            ```

        After the exercise.
        ''')
    nb = page_notebook(page, "zh", cnnref.__version__)
    sources = [(c.cell_type, c.source) for c in nb.cells[1:]]
    assert sources[0] == ("markdown", "# Title\n\n> **Careful**\n>\n> A note, with code the site runs:")
    assert sources[1] == ("code", "y = 3")
    assert sources[3][1].startswith("answer = None") and sources[4][1].endswith('print(check("t/1", answer, lang="zh"))')
    assert sources[5] == ("markdown", "After the exercise.")
    assert "secret" not in "".join(s for _, s in sources)
