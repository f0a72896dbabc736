"""The filler's channel to the server (SPEC §8): the version check the filler makes on start.

Public on purpose: the filler asks before anyone has logged in, and the answer (a version number
and a download page) is published on the home page anyway. Rate-limited per address so that a
misbehaving client cannot turn thousands of installations into load.
"""
from flask import current_app
from flask_appbuilder.api import BaseApi, expose, safe
from flask_appbuilder.utils.limit import Limit
from flask_limiter.util import get_remote_address

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
        config = current_app.config
        response = self.response(200, latest=str(config.get("FILLER_LATEST_VERSION", "")),
                                 download_url=str(config.get("FILLER_DOWNLOAD_URL", "")))
        # Short caching lets a proxy in a government network answer thousands of starts at once.
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


def register(appbuilder):
    appbuilder.add_api(ClientApi)
