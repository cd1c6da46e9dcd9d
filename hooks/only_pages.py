"""A quick build of a few pages: `CNNREF_PAGES=pooling,fine-tuning mkdocs build --no-strict` keeps only
those topics (both languages; the home page always) and skips the other pages' code.

A whole build runs every page's code (a minute or more); while one page is being written, its
build is what matters. Without the variable every page is built. The nav still lists the
dropped pages (a warning each), hence `--no-strict`.
"""

import os
import re

from mkdocs.plugins import event_priority


def wanted(src_uri: str, topics: set[str]) -> bool:
    """True for a page to keep: a listed topic, the home page, or a file that is not a page.

    >>> [wanted(s, {"pooling"}) for s in ("pooling.en.md", "convolution.zh.md", "index.zh.md", "assets/x.js")]
    [True, False, True, True]
    """
    match = re.match(r"(.*)\.(zh|en)\.md$", src_uri)
    return not match or match.group(1) in topics | {"index"}


def topics() -> set[str]:
    return {t.strip() for t in os.environ.get("CNNREF_PAGES", "").split(",") if t.strip()}


@event_priority(100)  # before the i18n plugin sorts the files into languages
def on_files(files, config):
    keep = topics()
    if not keep:
        return files
    for file in [f for f in files if not wanted(f.src_uri, keep)]:
        files.remove(file)
    return files
