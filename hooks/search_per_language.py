"""One search index per language, and each page's search box reads its own language's index.

mkdocs-static-i18n builds the default language (Chinese, at the site root), then each other
language into `<locale>/`, and at the end writes the entries of all of them into the one
`search/search_index.json` that every page reads (with `reconfigure_search: true` it only drops
entries whose text is the same in two languages): an English query on /en/ lists the Chinese
twins, and a Chinese query the English ones.

Material's search fetches `search/search_index.json` (from file://: `search/search_index.js`)
relative to the `base` of the page's `__config`, and resolves each result's `location` against
the same `base`. In this site nothing else in Material's JavaScript reads `base` (no instant
navigation, no version selector, no alternate links: hooks/alternate_links.py). So this hook

- points the `base` of every page of a non-default language at its language root
  (`../../en/` instead of `../..`): its search box fetches `en/search/search_index.json`;
- after the i18n plugin wrote the combined index, splits it by location into
  `search/search_index.json` (the default language) and `<locale>/search/search_index.json`,
  whose locations are made relative to that language's root.

Each index keeps the search configuration (separator, pipeline, languages) of the combined one.
"""

from __future__ import annotations

import json
import pathlib
import re

from mkdocs.plugins import event_priority

CONFIG_SCRIPT = re.compile(r'(<script id="__config" type="application/json">)(.*?)(</script>)', re.S)
INDEX = pathlib.PurePosixPath("search", "search_index.json")


def other_locales(config) -> list[str]:
    """The locales that the i18n plugin builds into a folder of their own (all but the default)."""
    i18n = config.plugins.get("i18n")
    if i18n is None:
        return []
    return [lang.locale for lang in i18n.config.languages if lang.build and not lang.default]


def page_locale(dest_uri: str, locales: list[str]) -> str | None:
    """The non-default locale whose folder holds a built file, None for the default language.

    >>> page_locale("en/conv-shapes/index.html", ["en"]), page_locale("conv-shapes/index.html", ["en"])
    ('en', None)
    """
    return next((locale for locale in locales if dest_uri.startswith(f"{locale}/")), None)


def set_search_base(html: str, locale: str) -> str:
    """Point the page's `__config` base (the site root, relative) at the root of `locale`.

    >>> html = '<script id="__config" type="application/json">{"base": "../.."}</script>'
    >>> set_search_base(html, "en")
    '<script id="__config" type="application/json">{"base": "../../en/"}</script>'
    """
    def replace(match):
        data = json.loads(match.group(2))
        # a trailing slash: the browser resolves "search/search_index.json" inside the folder
        data["base"] = data["base"].rstrip("/") + f"/{locale}/"
        # as Jinja's tojson does: no "<" that could end the script element early
        text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
        return match.group(1) + text + match.group(3)

    out, count = CONFIG_SCRIPT.subn(replace, html)
    if count != 1:
        raise ValueError(f"search_per_language: expected one __config script in the page, found {count}")
    return out


def split_index(index: dict, locales: list[str]) -> dict[str | None, dict]:
    """Split a combined search index into one per language: None (the default language, its
    locations unchanged) and each locale, whose locations lose their `<locale>/` prefix.

    >>> index = {"config": {"lang": ["zh", "en"]}, "docs": [
    ...     {"location": "conv/", "title": "卷积", "text": ""},
    ...     {"location": "en/conv/#stride", "title": "Stride", "text": ""}]}
    >>> parts = split_index(index, ["en"])
    >>> [d["location"] for d in parts[None]["docs"]], [d["location"] for d in parts["en"]["docs"]]
    (['conv/'], ['conv/#stride'])
    """
    parts = {key: {**index, "docs": []} for key in [None, *locales]}
    for doc in index["docs"]:
        locale = page_locale(doc["location"], locales)
        if locale is not None:
            doc = {**doc, "location": doc["location"][len(locale) + 1:]}
        parts[locale]["docs"].append(doc)
    return parts


def on_post_page(output, page, config):
    locale = page_locale(page.file.dest_uri, other_locales(config))
    return output if locale is None else set_search_base(output, locale)


@event_priority(-200)  # after the i18n plugin's on_post_build (-100) wrote the combined index
def on_post_build(config):
    """Split `search/search_index.json`. The i18n plugin also runs this after each language's
    own build (its index then holds that language alone); a part with no entries is not
    written, so that only the final, combined index decides what each language's file holds."""
    site = pathlib.Path(config.site_dir)
    combined = site / INDEX
    if not combined.exists():
        return
    locales = other_locales(config)
    parts = split_index(json.loads(combined.read_text("utf8")), locales)
    for locale, index in parts.items():
        if index["docs"]:
            path = site / (locale or "") / INDEX
            path.parent.mkdir(parents=True, exist_ok=True)
            # ASCII, as Material writes it: the offline copy loads it as a script of unknown charset
            path.write_text(json.dumps(index, separators=(",", ":")), "utf8")
