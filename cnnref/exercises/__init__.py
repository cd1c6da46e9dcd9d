"""Exercises with checked answers: ``check("pooling/2", answer, lang="zh")``.

Every topic page ends with a few exercises; each has an id "topic/n" (the page's file name and
the exercise's number on the page) and a checker here, in the module named after the topic
(``conv-shapes`` -> ``conv_shapes.py``). ``check`` returns a ``Result``: ``.correct``, and as its
``str`` a message in the page's language that says what is wrong (type, shape, which values,
where the gradient is off) without giving the answer away.

Adding exercises to a page ``docs/TOPIC.*.md``:

- a module ``cnnref/exercises/TOPIC.py`` (found automatically) with one checker per exercise,
  registered by ``@exercise("TOPIC/n")``; a checker computes its reference independently (torch
  or a NumPy computation unlike the page's solution) and compares with ``expect_shape``,
  ``expect_integer``, ``expect_number``, ``expect_array`` or ``expect_function``
  (cnnref.exercises.checks); new words for messages go into cnnref.exercises.messages, in both
  languages;
- on the page, before the footnotes, a section "Exercises" / "练习": each exercise's statement,
  then its worked solution, collapsed, in a self-contained fence (no ``session``) that ends with
  ``print(check("TOPIC/n", answer, lang="en"))`` and ``assert check("TOPIC/n", answer, lang="en").correct``;
- the topic's name in ``DONE`` of tests/test_exercises.py (which then requires 2–4 exercises).

The site's notebooks (hooks/notebooks.py) show each exercise as its statement, an ``answer = None``
cell to fill in and the ``check`` call, without the solution.

Examples:
    >>> from cnnref.exercises import check
    >>> r = check("pooling/1", (1, 16, 8, 8), lang="zh")
    >>> r.correct, str(r)
    (True, '正确')
"""

from __future__ import annotations

import importlib
import pkgutil

from cnnref.exercises.checks import Mistake
from cnnref.exercises.registry import EXERCISES, Exercise, Result, check, exercise

__all__ = ["check", "exercise", "EXERCISES", "Exercise", "Result", "Mistake"]

# the framework's own modules; every other module here holds one topic's checkers
FRAMEWORK = {"checks", "messages", "registry"}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in FRAMEWORK:
        importlib.import_module(f"{__name__}.{_module.name}")
