"""Drop the `<link rel="alternate" hreflang>` tags from every page's <head>.

Material's JavaScript fetches `sitemap.xml` next to each such link, to map the current page
onto the other language. mkdocs-static-i18n already points the links (and the language
switcher) at the same page in the other language, so Material asks for
`/en/conv-shapes/sitemap.xml`, which does not exist: a 404 and a console error on every page.
The language switcher in the header keeps its own links and works without them.
"""

import re

ALTERNATE = re.compile(r'[ \t]*<link rel="alternate" href="[^"]*" hreflang="[^"]*">\n?')


def on_post_page(output, page, config):
    return ALTERNATE.sub("", output)
