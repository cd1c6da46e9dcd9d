"""The pieces the browser tests share: the web server that serves the built site under a path
prefix, and a Chromium page that records what each visit requests and logs.

Debian's Chromium (/usr/bin/chromium), headless, driven by playwright; `make test` installs it
(and a CJK font, so the screenshots show Chinese) when missing. Playwright never downloads a
browser. The fixtures that put these together are in tests/conftest.py.
"""

from __future__ import annotations

import http.server
import pathlib
import urllib.parse

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# The suite serves (and builds, SITE_URL) the site under a path prefix, as a published copy
# may be: a link or asset that escapes the prefix is a 404 and a request outside the site.
PREFIX = "/cnnref-prefix/"
TIMEOUT_MS = 30_000  # for each wait on an element, a request or a navigation


class PrefixHandler(http.server.SimpleHTTPRequestHandler):
    """Serves `directory` at `prefix` ("/cnnref-prefix/"); every path outside it is a 404."""

    def __init__(self, *args, prefix: str = PREFIX, **kwargs):
        self.prefix = prefix
        super().__init__(*args, **kwargs)

    def translate_path(self, path):
        parts = urllib.parse.urlsplit(path)
        if parts.path + "/" == self.prefix:
            return super().translate_path("/")  # the handler redirects to the prefix
        if not parts.path.startswith(self.prefix):
            return str(pathlib.Path(self.directory) / ".outside-the-prefix")  # a name the build never writes
        return super().translate_path(parts.path[len(self.prefix) - 1:])

    def log_message(self, format, *args):
        pass


class Browser:
    """One Chromium page and its context; records what each visit requests, logs and fails to
    load. `base` is the site's URL without the trailing slash; requests elsewhere (another
    host, or outside the site's path) are aborted and listed in `external`. `console`: the
    types of console message ("error", "warning") that count as errors."""

    def __init__(self, page, base: str, console: tuple[str, ...] = ("error",)):
        self.page, self.base = page, base
        self.requests: list[str] = []
        self.external: list[str] = []
        self.errors: list[str] = []
        context = page.context
        context.on("request", lambda request: self.requests.append(request.url))
        context.on("response", lambda response: response.status >= 400 and self.errors.append(
            f"HTTP {response.status} {response.url}"))
        context.route("**/*", self._route)
        page.on("console", lambda message: message.type in console and self.errors.append(
            f"console {message.type}: {message.text} ({message.location.get('url')})"))
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    @classmethod
    def new(cls, chromium, base: str, width: int = 1280, height: int = 800, touch: bool = False, **options):
        """A page in a fresh context of the playwright Browser `chromium`, `width` x `height`
        (a phone's touch screen when `touch`); `options` go to the constructor."""
        context = chromium.new_context(viewport={"width": width, "height": height}, has_touch=touch, is_mobile=touch)
        context.set_default_timeout(TIMEOUT_MS)
        return cls(context.new_page(), base, **options)

    def close(self):
        self.page.context.close()

    def _route(self, route):
        if self.is_local(route.request.url):
            route.continue_()
        else:
            self.external.append(route.request.url)
            route.abort()

    def is_local(self, url: str) -> bool:
        scheme = urllib.parse.urlsplit(url).scheme
        return url.startswith(self.base + "/") or scheme in ("data", "blob", "about")

    def url(self, path: str) -> str:
        """The URL of a site path ("/en/conv-shapes/")."""
        return self.base + path

    def open(self, path: str, width: int = 1280, wait: str = "load", fresh: bool = True):
        """Visit a site path ("/en/conv-shapes/") at `width`, with fresh logs (or, unless
        `fresh`, adding to what earlier visits logged); returns the page once its `wait` event
        ("load", "domcontentloaded", "networkidle") has fired."""
        if self.page.viewport_size["width"] != width:
            self.page.set_viewport_size({"width": width, "height": self.page.viewport_size["height"]})
        if fresh:
            self.requests.clear(), self.external.clear(), self.errors.clear()
        self.page.goto(self.url(path), wait_until=wait)
        return self.page

    def wait_for_math(self):
        """Wait until KaTeX rendered every formula of the page (katex-init.js renders them once
        the page's scripts ran); returns how many there are."""
        self.page.wait_for_function("""() => [...document.querySelectorAll(".arithmatex")]
            .every(el => el.querySelector(".katex, .katex-error"))""")
        return self.page.locator(".arithmatex").count()
