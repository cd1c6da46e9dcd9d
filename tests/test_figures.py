"""Every figure a page draws with cnnref.plot.show ends up inside the built page."""

import re

import pytest

from tests.docs_helpers import LANGUAGES, built_page, pages, python_fences

TOPICS = sorted(pages("zh"))


@pytest.mark.parametrize("topic", TOPICS)
def test_each_show_call_puts_one_svg_figure_in_the_built_page(built_site, topic):
    site, _ = built_site
    for language in LANGUAGES:
        shown = sum(len(re.findall(r"\bshow\(", code)) for _, info, code in python_fences(pages(language)[topic])
                    if 'html="1"' in info)
        file = built_page(site, language, topic)
        assert file.read_text("utf8").count('<g id="figure_1">') == shown, (language, topic)
