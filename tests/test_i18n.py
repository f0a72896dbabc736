"""The UI speaks Simplified Chinese by default, including the strings FAB's zh catalogue lacks."""
import gettext
from pathlib import Path

import flask_appbuilder

from app.i18n import ROOT, fab_source_strings

FAB_DIR = Path(flask_appbuilder.__file__).parent


def test_every_fab_string_has_a_chinese_translation():
    from app.i18n import compile_all

    compile_all()
    fab_zh = gettext.GNUTranslations((FAB_DIR / "translations/zh/LC_MESSAGES/messages.mo").open("rb"))
    ours = gettext.GNUTranslations(
        (ROOT / "app/translations/zh/LC_MESSAGES/messages.mo").open("rb"))
    untranslated = sorted(s for s in fab_source_strings()
                          if fab_zh.gettext(s) == s and ours.gettext(s) == s)
    assert len(fab_source_strings()) > 100
    assert untranslated == []


def test_login_page_is_chinese_by_default_and_english_on_request(client):
    page = client.get("/login/").get_data(as_text=True)
    assert "登录" in page and "用户名" in page
    client.get("/lang/en")
    page = client.get("/login/").get_data(as_text=True)
    assert "Sign in" in page or "Sign In" in page
    assert "用户名" not in page
