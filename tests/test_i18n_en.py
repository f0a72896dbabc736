"""English is the second locale: every string of ours has an English translation, and the pages
an organising unit sees first carry no Chinese chrome once it picks English."""
import html as html_module
import importlib.util
import re

import pytest
from babel.messages.pofile import read_po

from app.i18n import ROOT, compile_all
from tests.support.accounts import login, set_known_password

CJK = re.compile(r"[\u4e00-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
NAVBAR = re.compile(r'<header class="top" role="header">(.*?)</header>', re.S)
EN_PO = ROOT / "app/translations/en/LC_MESSAGES/messages.po"


def _update_catalogues():
    spec = importlib.util.spec_from_file_location("update_catalogues",
                                                  ROOT / "scripts/update_catalogues.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def extracted(tmp_path_factory):
    """The strings of app/ and plugins/ as they are now (never a stale committed .pot)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    return [m for m in _update_catalogues().extract(pot) if m.id]


@pytest.fixture(scope="module")
def english():
    with EN_PO.open("rb") as fh:
        return read_po(fh, locale="en")


def test_extraction_finds_our_strings(extracted):
    ids = {m.id for m in extracted}
    # python (lazy_gettext as _l, N_), platform templates and plugin templates
    assert {"组织机构", "账号管理", "已锁定", "登录", "全部提交"} <= ids
    assert len(ids) > 100


def test_every_string_has_an_english_translation(extracted, english):
    missing = []
    for message in extracted:
        translated = english.get(message.id)
        if translated is None or not translated.string or translated.fuzzy:
            missing.append(message.id)
    assert missing == [], ("run scripts/update_catalogues.py and translate these in "
                           "app/translations/en/LC_MESSAGES/messages.po")


def test_english_translations_keep_placeholders_and_leave_chinese(extracted, english):
    wrong = []
    for message in extracted:
        translated = english.get(message.id)
        if translated is None or not translated.string:
            continue
        if sorted(PLACEHOLDER.findall(message.id)) != sorted(PLACEHOLDER.findall(translated.string)) \
                or CJK.search(translated.string):
            wrong.append((message.id, translated.string))
    assert wrong == []


def _navbar(html, *data):
    """The navbar without what is data, not chrome: the user's own unit name and the language
    menu, which names Chinese in Chinese (简体中文) whatever the locale."""
    match = NAVBAR.search(html)
    assert match, "no navbar in the page"
    navbar = match.group(1)
    for text in ("简体中文",) + data:
        navbar = navbar.replace(text, "")
    return navbar


@pytest.fixture
def english_client(client):
    compile_all()
    client.get("/lang/en")
    return client


def test_login_page_in_english(english_client):
    html = english_client.get("/login/").get_data(as_text=True)
    assert "National Government Website Census" in html
    assert "Username" in html or "User Name" in html
    assert not CJK.search(_navbar(html))
    assert not CJK.search(html.replace("简体中文", ""))


def test_home_page_in_english(english_client):
    html = english_client.get("/").get_data(as_text=True)
    assert "<title>National Government Website Census</title>" in html
    assert "Organising units sign in" in html
    assert not CJK.search(html.replace("简体中文", ""))


def test_org_account_menu_in_english(app, session, english_client):
    from app.accounts.models import PuchaUser

    set_known_password(session, "330102")
    login(english_client, "330102")
    user = session.query(PuchaUser).filter_by(username="330102").one()
    for url in ("/", "/orgs/list/", "/accounts/list/", "/account/password/"):
        response = english_client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        navbar = _navbar(html, user.get_full_name(), user.org.name)
        assert not CJK.search(navbar), (url, CJK.findall(navbar))
        for label in ("Administration", "Organisations", "Accounts", "Change password",
                      "Census forms", "National Government Website Census"):
            assert label in navbar, (url, label)
    html = english_client.get("/orgs/list/").get_data(as_text=True)
    assert "Parent unit" in html and "Level" in html
    assert "Prefecture" in html or "County" in html


def _import_sample_package(session, username):
    from app.accounts.models import PuchaUser
    from plugins.basic_info.commands import import_packages

    user = session.query(PuchaUser).filter_by(username=username).one()
    data = (ROOT / "docs/sample-package.zip").read_bytes()
    report = import_packages(session, user, [("sample-package.zip", data)])
    assert report.imported > 0, report.summary()
    return report


def test_basic_info_list_and_detail_in_english(app, session, english_client):
    """Column headers (the census schema's labels included) and the status the unit sees."""
    report = _import_sample_package(session, "330102")
    set_known_password(session, "330102")
    login(english_client, "330102")
    html = english_client.get("/basic_info/list/").get_data(as_text=True)
    thead = re.search(r'<table class="table[^"]*form-list">\s*'
                      r'<thead>(.*?)</thead>', html, re.S)
    assert thead, "no list table"
    assert not CJK.search(thead.group(1)), CJK.findall(thead.group(1))
    for header in ("No.", "Filled in by", "Status", "Website ID code", "Province/Ministry",
                   "Filing unit", "Website name", "ICP filing number"):
        assert header in thead.group(1), header
    statuses = re.findall(r'<span class="label label-\w+">([^<]*)</span>', html)
    assert statuses and set(statuses) == {"Not submitted"}, statuses
    for text in ("Submit all", "Export report", "Import"):
        assert text in html, text

    form_id = report.packages[0].forms[0].form_id
    detail = html_module.unescape(
        english_client.get(f"/basic_info/form/{form_id}").get_data(as_text=True))
    assert '<span class="label label-default form-status">Not submitted</span>' in detail
    for text in ("Home page URL", "Head's email", "Information publishing", "News", "Address",
                 "History", "Import", "Not submitted (上城区)"):
        assert text in detail, text


def test_chinese_by_default(app, session, client):
    compile_all()
    html = client.get("/").get_data(as_text=True)
    assert "<title>全国政府网站普查报送系统</title>" in html
    assert "组织单位登录后导入" in html
    set_known_password(session, "330102")
    login(client, "330102")
    navbar = _navbar(client.get("/orgs/list/").get_data(as_text=True))
    for label in ("系统管理", "组织机构", "账号管理", "修改密码", "普查表"):
        assert label in navbar
    assert "Administration" not in navbar and "Organisations" not in navbar
