"""The registry of exercises and ``check``, the one function a reader calls.

A topic module (cnnref/exercises/pooling.py for docs/pooling.*.md) registers one checker per
exercise with the ``exercise`` decorator. A checker takes the reader's answer, computes its own
reference (torch or an independent NumPy computation) and returns nothing when the answer is
right, or raises a ``Mistake`` (cnnref.exercises.checks) that says what is wrong. ``check``
turns either into a ``Result`` worded in the reader's language.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Callable

from cnnref.exercises.checks import Mistake
from cnnref.exercises.messages import LANGS, say

__all__ = ["Exercise", "Result", "EXERCISES", "exercise", "check"]

ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*/[1-9][0-9]*$")


@dataclasses.dataclass(frozen=True)
class Exercise:
    """One exercise: its id ("pooling/2": the page's topic and the number on the page) and its checker."""

    id: str
    checker: Callable[[Any], Any]

    @property
    def topic(self) -> str:
        return self.id.split("/")[0]


@dataclasses.dataclass(frozen=True)
class Result:
    """What ``check`` found: ``correct`` and the message (which is also what ``str`` gives)."""

    exercise: str
    correct: bool
    message: str

    def __str__(self) -> str:
        return self.message


EXERCISES: dict[str, Exercise] = {}


def exercise(exercise_id: str) -> Callable[[Callable], Callable]:
    """Decorator: register ``checker`` as the checker of ``exercise_id`` ("topic/n").

    Examples:
        >>> @exercise("example/1")
        ... def doubled(answer):
        ...     from cnnref.exercises.checks import expect_integer
        ...     expect_integer(answer, 2 * 21)
        >>> check("example/1", 42).correct, str(check("example/1", 41, lang="zh"))
        (True, '你的答案太小了')
        >>> del EXERCISES["example/1"]
    """
    if not isinstance(exercise_id, str) or not ID.match(exercise_id):
        raise ValueError(f"exercise: id {exercise_id!r} is not of the form 'topic/n' (e.g. 'pooling/2')")
    if exercise_id in EXERCISES:
        raise ValueError(f"exercise: {exercise_id!r} is registered twice")

    def register(checker: Callable) -> Callable:
        EXERCISES[exercise_id] = Exercise(exercise_id, checker)
        return checker

    return register


def check(exercise_id: str, answer: Any, lang: str = "en") -> Result:
    """Check ``answer`` to exercise ``exercise_id``; the message is in ``lang`` ("zh" or "en").

    Never raises for a bad answer (None, a string, NaN, the wrong type, shape or dtype): it says
    what is wrong. An unknown exercise or language is the caller's mistake: a ValueError.

    Examples:
        >>> r = check("pooling/1", (1, 16, 8, 8))
        >>> r.correct, str(r)
        (True, 'correct')
        >>> print(check("pooling/1", None, lang="zh"))
        还没有答案：把你的答案赋给 answer，再运行这一格
    """
    if lang not in LANGS:
        raise ValueError(f"check: lang is {lang!r}, expected one of {', '.join(map(repr, LANGS))}")
    if exercise_id not in EXERCISES:
        topic = str(exercise_id).split("/")[0]
        same = sorted(i for i in EXERCISES if i.split("/")[0] == topic)
        known = f"{topic} has {', '.join(same)}" if same else f"topics with exercises: {', '.join(sorted({e.topic for e in EXERCISES.values()}))}"
        raise ValueError(f"check: no exercise {exercise_id!r}; {known}")
    if answer is None:
        return Result(exercise_id, False, say("none", lang))
    try:
        EXERCISES[exercise_id].checker(answer)
    except Mistake as mistake:
        return Result(exercise_id, False, mistake.message(lang))
    except Exception as error:  # an answer no helper foresaw: say so rather than show a traceback
        return Result(exercise_id, False, say("unreadable", lang, what="answer", error=f"{type(error).__name__}: {error}"))
    return Result(exercise_id, True, say("correct", lang))
