import pytest

from tests.docs_helpers import build_site


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The whole site, built once per test run with `mkdocs build --strict`."""
    site_dir = tmp_path_factory.mktemp("site")
    result = build_site(site_dir)
    return site_dir, result
