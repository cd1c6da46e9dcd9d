"""cnnref: NumPy twins of torch layers, classic architectures, training and fine-tuning.

``__version__`` is the package's version (pyproject.toml reads it from here); the site's
notebooks check it in their first cell.
"""

__version__ = "0.1.0"
