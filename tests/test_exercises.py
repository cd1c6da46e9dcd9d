"""Every registered exercise: the page's worked solution passes its checker in both languages,
and wrong answers (one value changed, the wrong shape, hostile values) fail it with a message
that says what is wrong, in the language asked for, without a traceback.

The solutions are the pages' own fences (the collapsed "Solution" / "参考答案" blocks), run
here in a fresh namespace: what the reader sees is what is tested. Every topic page has 2–4.
"""

from __future__ import annotations

import contextlib
import io
import re

import numpy as np
import pytest

from cnnref.exercises import EXERCISES, Result, check
from cnnref.exercises.checks import index_text
from cnnref.exercises.messages import LANGS, MESSAGES
from tests.docs_helpers import pages, python_fences

# pages that are not topics: no exercises
NOT_TOPICS = {"index", "glossary", "how-to-use", "performance"}

CHECK_CALL = re.compile(r'print\(check\("([^"]+)", answer, lang="(zh|en)"\)\)')
CJK = re.compile(r"[\u4e00-\u9fff]")


def topic_pages() -> list[str]:
    return sorted(t for t in pages("en") if t not in NOT_TOPICS and not t.startswith("api/"))


def solutions() -> dict[tuple[str, str], tuple[str, str]]:
    """(exercise id, language) -> (page topic, code of the worked solution's fence)."""
    found = {}
    for lang in LANGS:
        for topic, path in pages(lang).items():
            for _, _, code in python_fences(path):
                for exercise_id, fence_lang in CHECK_CALL.findall(code):
                    assert fence_lang == lang, f"{path}: check({exercise_id!r}) asks for lang={fence_lang!r}"
                    assert (exercise_id, lang) not in found, f"{path}: a second solution of {exercise_id}"
                    found[exercise_id, lang] = (topic, code)
    return found


SOLUTIONS = solutions()
IDS = sorted(EXERCISES)


def run_solution(exercise_id: str, lang: str) -> dict:
    """Run the page's solution fence in a fresh namespace (as markdown-exec runs a fence without a
    session) and return that namespace."""
    topic, code = SOLUTIONS[exercise_id, lang]
    namespace: dict = {"__name__": "__main__"}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, f"docs/{topic}.{lang}.md", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("exercise_id", IDS)
def test_worked_solution_passes(exercise_id, lang):
    assert (exercise_id, lang) in SOLUTIONS, f"{exercise_id}: no worked solution on its {lang} page"
    topic, code = SOLUTIONS[exercise_id, lang]
    assert topic == EXERCISES[exercise_id].topic, f"{exercise_id}'s solution is on the page {topic}"
    assert code.rstrip().endswith(f'assert check("{exercise_id}", answer, lang="{lang}").correct')
    answer = run_solution(exercise_id, lang)["answer"]
    for message_lang in LANGS:
        result = check(exercise_id, answer, lang=message_lang)
        assert isinstance(result, Result) and result.correct, str(result)
        assert str(result) == MESSAGES["correct"][message_lang]


def changed(value, shape_only=False):
    """Wrong answers made from a right one: [(name, wrong answer, words the English message must hold)].

    "value": one value changed (an array: its middle element; a tuple: its last number; an
    integer: one more); "shape": the wrong shape (an array: one row fewer along its last axis; a
    tuple: one number more; a number: a tuple of it). A function: the same changes to what it returns.
    """
    if callable(value):
        return [(name, (lambda f: lambda *args: f(*args))(make(value)), words)
                for name, make, words in [
                    ("value", lambda f: lambda *a: changed(f(*a))[0][1], "for "),
                    ("shape", lambda f: lambda *a: changed(f(*a))[1][1], "for ")]]
    if hasattr(value, "detach"):
        value = value.detach().numpy()
    if isinstance(value, np.ndarray):
        one = value.astype(np.float64).copy()
        middle = one.size // 2
        one.flat[middle] += 1
        fewer = value[..., :-1]
        return [("value", one, index_text(middle, value.shape)), ("shape", fewer, str(fewer.shape))]
    if isinstance(value, (tuple, list)):
        return [("value", (*value[:-1], value[-1] + 1), f"position(s) {len(value) - 1}"),
                ("shape", (*value, 1), f"has {len(value) + 1} numbers")]
    if isinstance(value, (int, float, np.number)):
        return [("value", value + 1, "too large"), ("shape", (value, value), "should be")]
    raise TypeError(f"changed: no wrong answers for a {type(value).__name__}")


@pytest.mark.parametrize("exercise_id", IDS)
def test_wrong_answers_fail_with_a_helpful_message(exercise_id):
    answer = run_solution(exercise_id, "en")["answer"]
    wrong = changed(answer)
    assert [name for name, _, _ in wrong] == ["value", "shape"]
    for name, wrong_answer, words in wrong:
        en, zh = check(exercise_id, wrong_answer, lang="en"), check(exercise_id, wrong_answer, lang="zh")
        assert not en.correct and not zh.correct, f"{exercise_id}: the {name} changed passes"
        assert words in str(en), f"{exercise_id}, {name} changed: {en}"
        assert CJK.search(str(zh)) and not CJK.search(str(en)), (str(zh), str(en))
        assert str(en) != MESSAGES["correct"]["en"] and str(zh) != MESSAGES["correct"]["zh"]
    if callable(answer):
        # a function that computes nothing useful, or raises, is told so
        assert "raised ZeroDivisionError" in str(check(exercise_id, lambda *a: 1 / 0, lang="en"))
        assert "ZeroDivisionError" in str(check(exercise_id, lambda *a: 1 / 0, lang="zh"))


HOSTILE = {
    "None": None, "a string": "6", "a dict": {"answer": 1}, "a bool": True,
    "NaN": float("nan"), "an array of NaN": np.full((3, 3), np.nan), "an object array": np.array([1, "a"], dtype=object),
    "an empty array": np.zeros((0, 3)), "a float16 array": np.ones((2, 2), np.float16),
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("exercise_id", IDS)
def test_hostile_answers_get_a_message_not_a_traceback(exercise_id, lang):
    for name, value in HOSTILE.items():
        result = check(exercise_id, value, lang=lang)
        assert not result.correct, f"{exercise_id} accepts {name}"
        assert str(result) and "Traceback" not in str(result)
        assert bool(CJK.search(str(result))) == (lang == "zh"), f"{exercise_id}, {name}: {result}"


def test_unknown_exercise_or_language_is_a_clear_error():
    with pytest.raises(ValueError, match=r"no exercise 'pooling/99'; pooling has pooling/1"):
        check("pooling/99", 1)
    with pytest.raises(ValueError, match=r"no exercise 'nothing/1'; topics with exercises: .*pooling"):
        check("nothing/1", 1)
    with pytest.raises(ValueError, match=r"lang is 'fr', expected one of 'zh', 'en'"):
        check("pooling/1", (1, 16, 8, 8), lang="fr")


@pytest.mark.parametrize("topic", topic_pages())
def test_each_topic_page_has_two_to_four_exercises(topic):
    ids = sorted(i for i, e in EXERCISES.items() if e.topic == topic)
    on_page = {lang: sorted(i for (i, l), (t, _) in SOLUTIONS.items() if l == lang and t == topic) for lang in LANGS}
    assert on_page["zh"] == on_page["en"] == ids, f"{topic}: registered {ids}, on the pages {on_page}"
    assert 2 <= len(ids) <= 4, f"{topic} has {len(ids)} exercises, expected 2 to 4"
    assert ids == [f"{topic}/{n}" for n in range(1, len(ids) + 1)], f"{topic}: numbered {ids}"


def test_every_exercise_belongs_to_a_page():
    assert {e.topic for e in EXERCISES.values()} <= set(topic_pages())
