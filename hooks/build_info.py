"""Put the build date and the torch / numpy versions into `config.extra.build`.

Every page's footer (`overrides/partials/copyright.html`) shows them, so a reader knows
which versions printed the outputs on the page. The date honours SOURCE_DATE_EPOCH
(reproducible builds); otherwise it is today's date in UTC.
"""

import datetime
import os


def build_info() -> dict[str, str]:
    """{"date": "YYYY-MM-DD", "torch": torch.__version__, "numpy": numpy.__version__}."""
    import numpy
    import torch  # the pages' code blocks import it in this process anyway

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    now = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
           else datetime.datetime.now(datetime.timezone.utc))
    return {"date": now.date().isoformat(), "torch": torch.__version__, "numpy": numpy.__version__}


def on_config(config):
    config.extra["build"] = build_info()
    return config
