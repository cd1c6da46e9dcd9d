"""pytest set-up shared by the doctests, the docs' code fences and the unit tests.

The whole suite runs the pages' code through the site's notebooks (tests/test_notebooks.py).
For one page alone, without a site build, `pytest --markdown-docs docs/pooling.en.md` collects its
```python fences with pytest-markdown-docs (not in the default options: the fences would run a
third time). Its default runner gives each fence a fresh namespace; the site (markdown-exec)
instead runs all fences of a page that share a `session="..."` in one namespace.
`SessionRunner` does the same here, so a page's later blocks see what its earlier blocks
defined, exactly as at build time.
"""

from __future__ import annotations

import contextlib
import io
import os
import pathlib
import re

os.environ.setdefault("MPLBACKEND", "Agg")

import pytest
import torch

# One torch thread for the pages' code and the tests, as in the site build (hooks/torch_threads.py):
# their networks are small, and the suite shares the cores with Chromium, a web server and
# subprocesses, where spinning OpenMP threads slow each other down many times over. Tests that
# time or compare thread counts set them themselves (cnnref.timing.threads).
torch.set_num_threads(1)

from hypothesis import settings

# The property tests draw the same examples on every run, so that CI passes or fails on the code,
# not on the luck of a draw; `pytest --hypothesis-profile explore` draws fresh examples each run
# (a search for new failures: every failure found so far became a fix and a named test).
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile("repeatable")

from pytest_markdown_docs._runners import DefaultRunner, register_runner

from tests.docs_helpers import markdown_parser, python_fences

SESSION_RE = re.compile(r'\bsession="([^"]+)"')


@register_runner(default=True)
class SessionRunner(DefaultRunner):
    """Run fences that name the same session on the same page in one namespace.

    Fences without a session get a fresh namespace. If a fence runs before the earlier
    fences of its session did (say, selected alone with -k), those are run first.
    Printed output is kept out of the log (pages print whole SVG figures) unless a fence fails.
    """

    namespaces: dict[tuple[pathlib.Path, str], tuple[dict, set[int]]] = {}

    def runtest(self, test, args, **kwargs):
        path = pathlib.Path(test.source_path)
        if path.suffix != ".md":
            return super().runtest(test, args, **kwargs)
        fences = python_fences(path)
        info = next((i for line, i, _ in fences if line == test.start_line), "")
        match = SESSION_RE.search(info)
        if not match:
            return self._run(test, args, **kwargs)
        namespace, done = self.namespaces.setdefault((path, match.group(1)), (args, set()))
        for line, other_info, code in fences:
            if line >= test.start_line:
                break
            if line not in done and SESSION_RE.search(other_info) and SESSION_RE.search(other_info).group(1) == match.group(1):
                self._run(test.__class__("\n" * line + code, (), line, path, None), namespace)
                done.add(line)
        self._run(test, namespace, **kwargs)
        done.add(test.start_line)

    def _run(self, test, namespace, **kwargs):
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                super().runtest(test, namespace, **kwargs)
        except BaseException:
            printed = out.getvalue()
            if printed:
                print(printed[-4000:])
            raise


def pytest_markdown_docs_markdown_it():
    return markdown_parser()
