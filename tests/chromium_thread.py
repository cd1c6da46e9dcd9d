"""Debian's Chromium, driven by playwright from a thread of its own.

playwright's sync API runs one instance per thread: a second ``sync_playwright()`` in a thread
that already holds one (tests/test_browser.py keeps its own open for the whole session) fails
with "using Playwright Sync API inside the asyncio loop". Started in a worker thread, an instance
does not care what the main thread holds; every call on its objects must then run in that
thread, which `ChromiumThread.call` and the `on_chromium_thread` decorator do.
"""

from __future__ import annotations

import concurrent.futures
import functools
import pathlib

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class ChromiumThread:
    """One playwright and one Chromium, both living in one worker thread."""

    def __init__(self):
        assert pathlib.Path(CHROMIUM).exists(), f"{CHROMIUM} missing: `make test` installs Debian's chromium"
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="chromium")
        self.playwright = self.browser = None
        self.call(self._start)

    def _start(self):
        from playwright.sync_api import sync_playwright

        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

    def call(self, fn, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` in the browser's thread; its result, or its exception here."""
        return self._pool.submit(fn, *args, **kwargs).result()

    def close(self):
        def stop():
            self.browser.close()
            self.playwright.stop()

        try:
            self.call(stop)
        finally:
            self._pool.shutdown()


def on_chromium_thread(test):
    """Run a test in the browser's thread; the test takes the `ChromiumThread` as ``chromium``."""
    @functools.wraps(test)
    def run(**fixtures):
        return fixtures["chromium"].call(functools.partial(test, **fixtures))

    return run
