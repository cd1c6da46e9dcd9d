"""The checkers' words, in Chinese and English: one table, so both languages say the same thing.

A message says what is wrong with an answer (its type, its shape, which values) and never what
the right answer is. ``say("shape", "en", what="output", got=(2, 3), expected=(2, 4))`` fills
the template of one language; ``what`` and ``kind`` name entries of ``WHAT`` and ``KINDS``.
"""

from __future__ import annotations

__all__ = ["LANGS", "MESSAGES", "WHAT", "KINDS", "say"]

LANGS = ("zh", "en")

# what is being checked: the subject of a message
WHAT = {
    "answer": {"zh": "你的答案", "en": "your answer"},
    "output": {"zh": "函数的输出", "en": "your function's output"},
    "gradient": {"zh": "你算出的梯度", "en": "your gradient"},
    "function": {"zh": "你的函数", "en": "your function"},
}

# what an answer should be: used by the "type" message
KINDS = {
    "array": {"zh": "一个 NumPy 数组", "en": "a NumPy array"},
    "shape": {"zh": "一个由整数组成的元组，例如 (1, 2)", "en": "a tuple of integers, such as (1, 2)"},
    "integer": {"zh": "一个整数", "en": "an integer"},
    "number": {"zh": "一个数", "en": "a number"},
    "function": {"zh": "一个函数（可调用对象）", "en": "a function (something callable)"},
}

MESSAGES = {
    "correct": {"zh": "正确", "en": "correct"},
    "none": {"zh": "还没有答案：把你的答案赋给 answer，再运行这一格",
             "en": "no answer yet: assign your answer to `answer` and run this cell again"},
    "type": {"zh": "{what}应当是{kind}，现在是 {got}",
             "en": "{what} should be {kind}, got {got}"},
    "dtype": {"zh": "{what}的 dtype 是 {got}，应当是数值类型（整数或浮点数）",
              "en": "{what} has dtype {got}, expected a numeric dtype (integer or floating point)"},
    "shape": {"zh": "{what}的形状是 {got}，应当是 {expected}",
              "en": "{what} has shape {got}, expected {expected}"},
    "length": {"zh": "{what}有 {got} 个数，应当有 {expected} 个",
               "en": "{what} has {got} numbers, expected {expected}"},
    "not_finite": {"zh": "{what}在 {count} 个位置（共 {total} 个）含有 NaN 或 inf，第一个在 {first}",
                   "en": "{what} has NaN or inf at {count} of {total} positions, the first at {first}"},
    "values": {"zh": "{what}有 {count} 个值不对（共 {total} 个），第一个在下标 {first}",
               "en": "{what} is wrong at {count} of {total} positions, the first at index {first}"},
    "entries": {"zh": "{what}在位置 {positions} 上不对（从 0 数起）",
                "en": "{what} is wrong at position(s) {positions} (counting from 0)"},
    "too_large": {"zh": "{what}太大了", "en": "{what} is too large"},
    "too_small": {"zh": "{what}太小了", "en": "{what} is too small"},
    "not_whole": {"zh": "{what}应当是整数，现在是 {got}", "en": "{what} should be a whole number, got {got}"},
    "raised_shape": {"zh": "{what}在输入形状为 {inputs} 时抛出了 {error}",
                     "en": "{what} raised {error} for an input of shape {inputs}"},
    "raised_args": {"zh": "{what}在参数为 {inputs} 时抛出了 {error}",
                    "en": "{what} raised {error} for the arguments {inputs}"},
    "unreadable": {"zh": "无法检查{what}：{error}", "en": "could not check {what}: {error}"},
    "case_shape": {"zh": "输入形状为 {inputs} 时，{detail}", "en": "for an input of shape {inputs}: {detail}"},
    "case_args": {"zh": "参数为 {inputs} 时，{detail}", "en": "for the arguments {inputs}: {detail}"},
}


def say(key: str, lang: str, **fields) -> str:
    """One message in one language; ``what`` and ``kind`` are looked up in WHAT and KINDS.

    Examples:
        >>> say("shape", "en", what="output", got=(2, 3), expected=(2, 4))
        "your function's output has shape (2, 3), expected (2, 4)"
        >>> say("too_large", "zh", what="answer")
        '你的答案太大了'
    """
    if "what" in fields:
        fields["what"] = WHAT[fields["what"]][lang]
    if "kind" in fields:
        fields["kind"] = KINDS[fields["kind"]][lang]
    return MESSAGES[key][lang].format(**fields)
