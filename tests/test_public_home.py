"""The home page: login, the links plugins register (标识码找回), and the census notice an
administrator sets on an admin page — stored, audited, shown escaped; Chinese by default, English
available."""
from sqlalchemy import select

from app import hookimpl
from app.audit import AuditEvent
from app.plugins import get_plugin_manager
from app.public import notice
from tests.support.accounts import login, set_known_password

EDIT = "/admin/notice/"


def notice_events(session):
    session.expire_all()
    return session.scalars(select(AuditEvent).where(
        AuditEvent.action == "census_notice_changed").order_by(AuditEvent.id)).all()


def test_the_home_page_offers_login_and_the_plugins_links(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "全国政府网站普查报送系统" in html and "/login/" in html
    assert 'href="/site-codes/recover/"' in html
    assert 'id="census-notice"' not in html  # no notice set yet
    # Also at the top right of every page for visitors (seed 004 §10: “首页右上方”).
    assert 'class="pucha-navbar-public-link"' in client.get("/login/").get_data(as_text=True)


def test_an_administrator_sets_the_notice_with_an_audit_row(app, session, client):
    set_known_password(session, "admin")
    login(client, "admin")
    assert client.get(EDIT).status_code == 200
    text = "普查报送截止日期：2015年5月15日\r\n请各单位按时完成。"
    saved = client.post(EDIT, data={"notice": text})
    assert saved.status_code in (302, 303)
    assert notice.census_notice(session) == "普查报送截止日期：2015年5月15日\n请各单位按时完成。"
    events = notice_events(session)
    assert len(events) == 1 and events[0].actor_name == "admin"
    assert events[0].detail == {"before": "", "after": notice.census_notice(session)}
    # Saving the same text again changes nothing and writes nothing.
    client.post(EDIT, data={"notice": text})
    assert len(notice_events(session)) == 1

    home = app.test_client().get("/").get_data(as_text=True)
    assert 'id="census-notice"' in home and "请各单位按时完成" in home
    # Emptying it removes it from the home page.
    client.post(EDIT, data={"notice": ""})
    assert 'id="census-notice"' not in app.test_client().get("/").get_data(as_text=True)
    assert notice_events(session)[-1].detail["after"] == ""


def test_the_notice_is_shown_as_text_never_as_html(app, session, client):
    set_known_password(session, "admin")
    login(client, "admin")
    client.post(EDIT, data={"notice": '<script>alert(1)</script><a href="http://evil">点此</a>'})
    home = app.test_client().get("/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in home and '<a href="http://evil">' not in home
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home


def test_an_overlong_notice_is_refused_and_nothing_changes(app, session, client):
    set_known_password(session, "admin")
    login(client, "admin")
    refused = client.post(EDIT, data={"notice": "字" * (notice.NOTICE_MAX + 1)})
    assert refused.status_code == 422 and "普查通知过长" in refused.get_data(as_text=True)
    assert notice.census_notice(session) == "" and notice_events(session) == []


def test_only_an_administrator_may_edit_the_notice(app, session, client):
    assert client.get(EDIT).status_code in (302, 401)  # to the login page
    set_known_password(session, "330102")
    login(client, "330102")
    assert client.get(EDIT).status_code in (302, 403)
    assert client.post(EDIT, data={"notice": "伪造"}).status_code in (302, 403)
    assert notice.census_notice(session) == "" and notice_events(session) == []
    # A forged request without the CSRF token is refused even for the administrator.
    admin = app.test_client()
    set_known_password(session, "admin")
    login(admin, "admin")
    assert admin.post(EDIT, data={"notice": "伪造"}, csrf=False).status_code == 400
    assert notice.census_notice(session) == ""


class SupportCenter:
    @hookimpl
    def public_links(self):
        from app.registry import PublicLink

        return [PublicLink(label="技术支持中心", url="/support/", order=10)]


def test_links_of_every_plugin_are_shown_in_their_order(national_db_file, tmp_path):
    from tests.conftest import app_in_context, base_overrides, sqlite_copy

    plugin = SupportCenter()
    get_plugin_manager().register(plugin)
    try:
        overrides = base_overrides(sqlite_copy(national_db_file, tmp_path), tmp_path)
        with app_in_context(overrides) as application:
            html = application.test_client().get("/").get_data(as_text=True)
    finally:
        get_plugin_manager().unregister(plugin)
    assert html.index('href="/support/"') < html.index('href="/site-codes/recover/"')


def test_chinese_by_default_english_available(client):
    assert "全国政府网站普查报送系统" in client.get("/").get_data(as_text=True)
    client.get("/lang/en")
    assert "National Government Website Census" in client.get("/").get_data(as_text=True)
    client.get("/lang/zh")
    assert "全国政府网站普查报送系统" in client.get("/").get_data(as_text=True)
