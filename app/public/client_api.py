"""The filler's channel to the server (SPEC §8): the version check the filler makes on start.

Public on purpose: the filler asks before anyone has logged in, and the answer (a version number
and a download page) is published on the home page anyway. Rate-limited per address so that a
misbehaving client cannot turn thousands of installations into load.

The answer is the installer a plugin publishes (the ``filler_release`` hook: the 技术支持中心's
newest installer and its page) and, when none is published, FILLER_LATEST_VERSION /
FILLER_DOWNLOAD_URL from config.
"""
from flask import current_app
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.utils.limit import Limit
from flask_limiter.util import get_remote_address

from app.plugins import get_plugin_manager
from app.registry import FillerRelease

CLIENT_VERSION_LIMIT = "60 per minute"


class ClientApi(BaseApi):
    resource_name = "client"
    openapi_spec_tag = "Client"
    # Nothing here needs a permission: no @protect, and no permission rows are created for it.
    base_permissions = set()
    limits = [Limit(CLIENT_VERSION_LIMIT, key_func=get_remote_address)]

    @expose("/version", methods=["GET"])
    @safe
    def latest_version(self):  # not "version": BaseApi.version is the API version (v1)
        """The newest filler version and where to download it.
        ---
        get:
          description: >-
            Asked by the desktop filler on every start (no login). When ``latest`` is newer than
            the running filler, it tells the user to update from ``download_url``.
          responses:
            200:
              description: The announced filler version
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      latest: {type: string, example: "1.0.0"}
                      download_url: {type: string, example: "/"}
            429:
              description: Too many requests from this address
        """
        release = announced_release(current_app.appbuilder.session)
        response = self.response(200, latest=release.version, download_url=release.download_url)
        # Short caching lets a proxy in a government network answer thousands of starts at once.
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


def announced_release(session):
    """The published installer (the first plugin that answers ``filler_release``), else config."""
    release = get_plugin_manager().hook.filler_release(session=session)
    if isinstance(release, FillerRelease):
        return release
    config = current_app.config
    return FillerRelease(version=str(config.get("FILLER_LATEST_VERSION", "")),
                         download_url=str(config.get("FILLER_DOWNLOAD_URL", "")))


def register(appbuilder):
    appbuilder.add_api(ClientApi)
