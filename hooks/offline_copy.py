"""Turn a built site into a zip that a browser reads from the file system (file://).

    python hooks/offline_copy.py SITE_DIR ZIP      # `make offline`: site/ -> site-offline.zip

The zip holds one folder, `site-offline/`; its `index.html` is the Chinese home page and
`en/index.html` the English one. `make offline` builds the site as always and derives the copy
from it; the test suite derives it from the site it built. Material's offline plugin does the
same job inside a build with `use_directory_urls: false`, which would be a second build, that
is a second run of every code block on every page (minutes): deriving the copy takes seconds.

What a browser does differently from file://, and what the copy changes for it:
- a link to a folder ("../conv-shapes/", "..", "./#stride") opens a folder listing instead of
  the folder's index.html: such links in the pages (and the locations in the search indexes)
  get an explicit "index.html";
- a path from the server's root ("/en/": the i18n plugin's language switcher on the home pages;
  the 404 page) would name the root of the file system: it becomes relative to the file;
- fetch() of a file:// URL is refused: Material then loads `search/search_index.js`, a script
  that sets `__index`; one is written beside each language's search_index.json;
- a Web Worker cannot start from file://: the vendored iframe-worker shim (mkdocs.yml,
  `extra.polyfills`; it does nothing outside file://) runs Material's search worker in an iframe.
"""

from __future__ import annotations

import json
import os
import pathlib
import posixpath
import re
import sys
import tempfile
import time
import zipfile
from urllib.parse import urlsplit, urlunsplit

FOLDER = "site-offline"
LINK = re.compile(r'\b(href|src)="([^"]*)"')
CANONICAL = re.compile(r'<link rel="canonical" href="([^"]*)"')
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def site_path(site: pathlib.Path) -> str:
    """The path the site was built to be served under ("/" or "/prefix/"): the path of the
    home page's canonical URL, which mkdocs takes from site_url."""
    match = CANONICAL.search((site / "index.html").read_text("utf8"))
    return urlsplit(match.group(1)).path if match else "/"


def file_link(link: str, page: str, site: pathlib.Path, root: str) -> str:
    """`link`, found in the site file `page` (a path relative to the site), as a link that
    works from file://: a folder gets its index.html, a path from the server root (under `root`,
    the site's path) becomes relative to the page. Anything else is returned unchanged.

    >>> site = pathlib.Path(tempfile.mkdtemp()); (site / "en" / "conv").mkdir(parents=True)
    >>> for page in ("index.html", "en/index.html", "en/conv/index.html"): (site / page).touch()
    >>> [file_link(l, "en/conv/index.html", site, "/p/") for l in ("../", "./#stride", "/p/", "..", "#x", "x.css")]
    ['../index.html', 'index.html#stride', '../../index.html', '../index.html', '#x', 'x.css']
    """
    parts = urlsplit(link)
    if not link or link.startswith(("#", "//")) or SCHEME.match(link):
        return link
    folder = posixpath.dirname(page)
    if parts.path.startswith("/"):
        if not parts.path.startswith(root):
            return link
        target = parts.path[len(root):]
    else:
        target = posixpath.join(folder, parts.path)
    target = posixpath.normpath(target) if target else "."
    if (site / target).is_dir() and (site / target / "index.html").is_file():
        target = posixpath.join(target, "index.html")
    elif not parts.path.startswith("/"):
        return link  # a relative link to a file: already right
    relative = posixpath.relpath(posixpath.normpath(target), folder or ".")
    return urlunsplit(("", "", relative, parts.query, parts.fragment))


def offline_html(html: str, page: str, site: pathlib.Path, root: str) -> str:
    """Every href= and src= of a page, through file_link."""
    return LINK.sub(lambda m: f'{m.group(1)}="{file_link(m.group(2), page, site, root)}"', html)


def offline_index(index: dict, language_root: str, site: pathlib.Path) -> dict:
    """A search index whose locations (relative to the language's root folder) name files."""
    page = posixpath.join(language_root, "index.html")
    docs = []
    for doc in index["docs"]:
        location = doc["location"]
        if location == "" or location.startswith("#"):  # the language's home page
            location = "./" + location
        docs.append({**doc, "location": file_link(location, page, site, "/")})
    return {**index, "docs": docs}


def offline_files(site: pathlib.Path):
    """(path in the copy, bytes) of every file of the offline copy of `site`."""
    root = site_path(site)
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        name = path.relative_to(site).as_posix()
        if path.suffix == ".html":
            yield name, offline_html(path.read_text("utf8"), name, site, root).encode("utf8")
        elif path.name == "search_index.json" and path.parent.name == "search":
            language_root = posixpath.dirname(posixpath.dirname(name))
            data = json.dumps(offline_index(json.loads(path.read_text("utf8")), language_root, site),
                              separators=(",", ":"))
            yield name, data.encode("utf8")
            # what Material's offline plugin writes, and its JavaScript reads on file://
            yield posixpath.join(posixpath.dirname(name), "search_index.js"), f"var __index = {data}".encode("utf8")
        else:
            yield name, path.read_bytes()


def write_offline_zip(site: pathlib.Path, zip_path: pathlib.Path) -> pathlib.Path:
    """Write the offline copy of the built site `site` to `zip_path`, under `site-offline/`.
    The zip is written beside its final name and renamed: an earlier zip stays whole until then."""
    site, zip_path = pathlib.Path(site), pathlib.Path(zip_path)
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"offline_copy: {site} has no index.html: build the site first (make build)")
    # a fixed date (SOURCE_DATE_EPOCH if set): the same site gives the same zip
    stamp = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", 315532800)))[:6]
    handle, partial = tempfile.mkstemp(prefix=zip_path.name, suffix=".partial", dir=zip_path.parent)
    os.close(handle)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(partial, 0o666 & ~umask)  # mkstemp makes it private; a zip to hand out is not
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in offline_files(site):
                info = zipfile.ZipInfo(f"{FOLDER}/{name}", date_time=stamp)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, data)
        os.replace(partial, zip_path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return zip_path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python hooks/offline_copy.py SITE_DIR ZIP")
    print(write_offline_zip(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])))
