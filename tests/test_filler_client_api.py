"""The server side of the filler's version check: GET /api/v1/client/version, public."""
import pytest

from tests.conftest import app_in_context, base_overrides, sqlite_copy


def test_version_is_public_and_comes_from_config(app, client):
    app.config["FILLER_LATEST_VERSION"] = "1.2.3"
    app.config["FILLER_DOWNLOAD_URL"] = "/support/"
    response = client.get("/api/v1/client/version")
    assert response.status_code == 200
    assert response.get_json() == {"latest": "1.2.3", "download_url": "/support/"}
    assert "max-age" in response.headers["Cache-Control"]


def test_the_filler_reads_the_real_endpoint(app, client, monkeypatch):
    """The filler's parser against the real response body (no network: through the test client)."""
    import io
    import urllib.request

    from filler.core.update import check_for_update

    app.config["FILLER_LATEST_VERSION"] = "9.0.0"

    def fake_urlopen(request, timeout):
        path = request.full_url.split("127.0.0.1:8080", 1)[1]
        return io.BytesIO(client.get(path).data)

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    info = check_for_update("http://127.0.0.1:8080", current="1.0.0")
    assert info.status == "newer" and info.latest == "9.0.0"
    assert info.download_url == "http://127.0.0.1:8080/"


@pytest.fixture
def limited_app(national_db_file, tmp_path):
    overrides = base_overrides(sqlite_copy(national_db_file, tmp_path), tmp_path)
    overrides.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    with app_in_context(overrides) as application:
        yield application


def test_version_is_rate_limited(limited_app):
    client = limited_app.test_client()
    codes = [client.get("/api/v1/client/version").status_code for _ in range(70)]
    assert codes[0] == 200
    assert 429 in codes
