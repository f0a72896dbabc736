"""basic_info's public pages and the filler's site check: 标识码找回 (seed 004 §10) and
``POST /api/v1/client/site/verify`` (SPEC §4, §8). No login; both rate-limited per client
address; the work is in plugins/basic_info/recovery.py and verification.py."""
import os

from flask import current_app, jsonify, make_response, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.api import BaseApi
from flask_appbuilder.utils.limit import Limit
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_wtf import FlaskForm
from wtforms import StringField

from app.errors import Invalid, api_safe
from app.i18n_text import gettext
from app.registry import PublicLink
from plugins.basic_info import recovery, verification

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
RECOVER_URL = "/site-codes/recover/"


def _public_limit():
    return current_app.config.get("PUBLIC_RATE_LIMIT", "10 per hour")


def _client_limit():
    return current_app.config.get("CLIENT_API_RATE_LIMIT", "120 per minute")


def _limits_off():
    return not current_app.config.get("RATELIMIT_ENABLED", True)


class RecoveryForm(FlaskForm):
    # No length validators here: the command caps the lengths with its own message, and the
    # browser's maxlength keeps honest input short.
    site = StringField(_l("网站名称或首页网址"))
    contact = StringField(_l("负责人或联系人的电子邮箱或手机号码"))


class SiteCodeRecoveryView(BaseView):
    """标识码找回: a public form; the answer after sending never depends on a match."""

    route_base = "/site-codes"
    template_folder = TEMPLATES
    default_view = "recover"
    # Only the POST is counted: reading the form costs nothing.
    limits = [Limit(_public_limit, key_func=get_remote_address, methods=("POST",),
                    exempt_when=_limits_off)]

    def _form_page(self, form, errors=(), status=200):
        return self.render_template("basic_info/recover.html", form=form, errors=list(errors),
                                    site_max=recovery.SITE_MAX,
                                    contact_max=recovery.CONTACT_MAX), status

    @expose("/recover/", methods=["GET", "POST"])
    def recover(self):
        form = RecoveryForm()
        if request.method == "GET":
            return self._form_page(form)
        if not form.validate_on_submit():  # CSRFProtect refused a bad token already
            return self._form_page(form, status=400)
        try:
            recovery.request_recovery(current_app.appbuilder.session, form.site.data,
                                      form.contact.data, request.remote_addr)
        except Invalid as error:
            return self._form_page(form, errors=error.errors, status=422)
        # The same redirect to the same page whatever happened (Post/Redirect/Get: a reload
        # does not send again).
        return redirect(url_for(".sent"), code=303)

    @expose("/recover/sent", methods=["GET"])
    def sent(self):
        return self.render_template("basic_info/recover_sent.html")


class SiteVerifyApi(BaseApi):
    """The filler's check of 网站标识码 + 校验码 (public: the filler has no account)."""

    route_base = "/api/v1/client/site"
    resource_name = "client"
    openapi_spec_tag = "Client"
    base_permissions = set()
    limits = [Limit(_client_limit, key_func=get_remote_address, exempt_when=_limits_off)]

    @expose("/verify", methods=["POST"])
    @api_safe
    def verify(self):
        """Check a website's 网站标识码 and 校验码 before its self-check.
        ---
        post:
          summary: 校验网站标识码和校验码（填报客户端，无需登录）
          description: >-
            On a match: the website as the filler shows it for confirmation, whether a
            self-check already exists, and a signed `token` (valid `token_expires_in` seconds)
            that authorises the self-check submission of this website. On a mismatch a generic 403
            that does not say which code was wrong. Repeated failures of one 网站标识码 from one
            address make further attempts wait and then lock the code for that address for a
            while (429 with `code: site_locked` and `Retry-After`); failures from all addresses
            together lock it for a fixed time for addresses that never verified it
            (docs/security.md "Site verification"). Rate-limited per address
            (`CLIENT_API_RATE_LIMIT`). Every attempt is audited.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [site_code, check_code]
                  properties:
                    site_code: {type: string, maxLength: 16, example: "3301020001"}
                    check_code: {type: string, maxLength: 8, example: "K7MQ3X"}
          responses:
            200:
              description: 校验通过
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      site_code: {type: string}
                      site_name: {type: string}
                      home_url: {type: string}
                      supervisor_unit: {type: string}
                      filing_unit: {type: string}
                      province: {type: string}
                      city: {type: string}
                      county: {type: string}
                      is_portal: {type: string}
                      self_check_exists: {type: boolean}
                      facts: {type: object}
                      token: {type: string}
                      token_purpose: {type: string, example: self_check}
                      token_expires_in: {type: integer, example: 1800}
            400:
              description: Not JSON, or a code missing or too long
            403:
              description: 网站标识码或校验码不正确 (the generic refusal)
            422:
              description: A code missing or too long
            429:
              description: >-
                This code is locked for this address (`code: site_locked`, `retry_after`), or
                too many requests from this address (`code: rate_limited`)
        """
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            return self.response_400(message=gettext("请求内容必须是 JSON 对象"))
        try:
            verified = verification.verify_site(
                current_app.appbuilder.session, payload.get("site_code"),
                payload.get("check_code"), request.remote_addr)
        except verification.SiteLocked as locked:
            # BaseApi.response() takes the status as ``code``, the name of this body's field.
            response = make_response(jsonify(message=str(locked), status=429, code="site_locked",
                                             retry_after=locked.retry_after), 429)
            response.headers["Retry-After"] = str(locked.retry_after)
            return response
        return self.response(200, **verified.to_dict())


def public_links():
    return [PublicLink(label=_l("标识码找回"), url=RECOVER_URL, order=20,
                       description=_l("网站标识码或校验码遗忘时，重新发送到网站负责人和联系人的邮箱"))]


def register(appbuilder):
    appbuilder.add_view_no_menu(SiteCodeRecoveryView)


def register_apis(appbuilder):
    appbuilder.add_api(SiteVerifyApi)
