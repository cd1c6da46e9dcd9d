"""Write the weights of the "Look inside LeNet-5" page's network into the built site.

The page (docs/lenet.{zh,en}.md) trains its LeNet-5 with `cnnref.lenet_asset.trained_lenet5()`
and prints what it got. After the pages are built, this hook calls the same function: it is
wrapped in `cnnref.experiments.once`, so it returns the very model the page printed (no second
training), and `cnnref.lenet_asset.write_asset` writes it to `assets/lenet5/` of the site, where
docs/javascripts/lenet-explorer.js fetches it. A build without the page (CNNREF_PAGES) writes nothing.
"""

import pathlib

PAGE = "lenet"
_built = {"page": False}


def on_files(files, config):
    _built["page"] = any(f.src_uri in (f"{PAGE}.zh.md", f"{PAGE}.en.md") for f in files)
    return files


def on_post_build(config):
    if not _built["page"]:
        return
    from cnnref.lenet_asset import trained_lenet5, write_asset

    write_asset(pathlib.Path(config["site_dir"]) / "assets" / "lenet5", trained_lenet5())
