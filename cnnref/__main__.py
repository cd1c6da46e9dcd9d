"""``python -m cnnref``: the command line (see :mod:`cnnref.cli`)."""

import sys

from cnnref.cli import main

if __name__ == "__main__":
    sys.exit(main())
