"""Settings from the environment: where case metadata points."""

import pytest

from engine.config import ConfigError, Settings


def test_case_metadata_points_where_the_api_serves():
    assert Settings.from_env({}).metadata_base == "http://127.0.0.1:8000/cases/"
    assert Settings.from_env({"ORDERCHAIN_API_PORT": "8123"}).metadata_base == "http://127.0.0.1:8123/cases/"
    assert (
        Settings.from_env({"ORDERCHAIN_API_HOST": "0.0.0.0", "ORDERCHAIN_API_PORT": "9000"}).metadata_base
        == "http://127.0.0.1:9000/cases/"
    )  # a wildcard address is not one a wallet can reach
    public = Settings.from_env({"ORDERCHAIN_PUBLIC_URL": "https://cellar.example/api/", "ORDERCHAIN_API_PORT": "8123"})
    assert public.metadata_base == "https://cellar.example/api/cases/"


@pytest.mark.parametrize("url", ["cellar.example", "ftp://cellar.example", "https://cellar example"])
def test_a_public_url_that_is_not_http_is_refused(url):
    with pytest.raises(ConfigError, match="ORDERCHAIN_PUBLIC_URL"):
        Settings.from_env({"ORDERCHAIN_PUBLIC_URL": url})
