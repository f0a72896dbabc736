"""The real window with several form types: the 新建 menu offers each type of the catalogue, the
list names each form's type, and the generic editor fills any schema, rows of every table
included. The sample external plugin's form, filled here and packaged, imports in the web app."""
import pytest

from tests.support.filler_types import (CHECK_SCHEMA_CODE, activate, forget, import_in_web_app,
                                        install_sample_plugin, install_schema_distribution)
from tests.test_filler_gui import ScriptedDialogs, click, select_tab, type_into

pytestmark = pytest.mark.gui


class ChoosingDialogs(ScriptedDialogs):
    def ask_choice(self, title, message, options):
        return self._next("choice", title, tuple(options))


@pytest.fixture
def app_with_types(xvfb_display, tmp_path, monkeypatch, request):
    from filler.core.catalog import load_catalog
    from filler.core.settings import Settings
    from filler.gui.app import FillerApp

    site = tmp_path / "site"
    install_sample_plugin(site)
    install_schema_distribution(site, "pucha_check_note", "site_check_note", CHECK_SCHEMA_CODE)
    install_schema_distribution(site, "pucha_broken_schema", "broken_note", "raise ImportError('缺少依赖 foo')\n")
    activate(site, monkeypatch)
    monkeypatch.setenv("PUCHA_FILLER_HOME", str(tmp_path / "home"))
    settings = Settings(path=tmp_path / "home" / "settings.json", data_dir=str(tmp_path / "data"))
    dialogs = ChoosingDialogs()
    request.addfinalizer(lambda: forget("pucha_check_note", "pucha_broken_schema"))
    app = FillerApp(settings, dialogs=dialogs, check_updates=False, catalog=load_catalog()).start()
    request.addfinalizer(lambda: app.running and app.quit())
    app.pump()
    return app, dialogs, tmp_path


def new_from_menu(app, label):
    """Pick ``label`` on the menu bar's 新建 menu (Tk's invoke, as a click does)."""
    bar = app.main.window["-MENU-"].widget
    entries = bar.nametowidget(bar.entrycget(0, "menu"))
    index = next(i for i in range(entries.index("end") + 1) if entries.entrycget(i, "label") == label)
    entries.after(1, lambda: entries.invoke(index))
    app.pump()
    return next(e for e in app.editors.values() if e.is_new)


def test_the_new_menu_offers_every_type_and_the_sample_plugin_form_is_filled_and_imported(
        app_with_types, national_db_file):
    from filler.gui import editor as E
    from filler.gui import main_window as M

    app, dialogs, tmp_path = app_with_types
    main = app.main.window
    # The plugin that failed to load is named under the list; the other types work.
    assert "无法载入表单类型“broken_note”（pucha_broken_schema）" in main[M.STATUS].get()
    labels = [event.split("::")[0] for event in app.main.new_menu_events()]
    assert labels[0] == app.catalog.schemas[0].label
    assert {"网站整改记录", "网站检查记录"} <= set(labels)
    # The menu bar's 新建 holds the same entries.
    menu_bar = main["-MENU-"].MenuDefinition
    assert menu_bar[0][0].startswith("新建") and [e.split("::")[0] for e in menu_bar[0][1]] == labels
    # The 新建 button pops the same menu up instead of guessing a type.
    click(app, main, M.NEW)
    menu = app.main.popped_menu
    assert [menu.entrycget(i, "label") for i in range(menu.index("end") + 1)] == labels
    menu.unpost()
    assert app.editors == {}

    editor = new_from_menu(app, "网站整改记录")
    window = editor.window
    assert editor.schema.name == "sample_rectification_note" and editor.groups == {}
    assert "网站整改记录" in window.TKroot.title()
    for name, value in (("site_name", "上城区政府网"), ("home_url", "http://www.hzsc.gov.cn/"),
                        ("note", "已修复首页死链 3 处")):
        type_into(app, window, (E.FIELD, name), value)
    click(app, window, E.SAVE)
    assert "校验通过" in window[E.STATUS].get()
    note_uuid = editor.uuid
    click(app, window, E.CLOSE)
    listed = {s.uuid: s for s in app.main.summaries}
    assert listed[note_uuid].type_label == "网站整改记录" and listed[note_uuid].valid
    index = [s.uuid for s in app.main.summaries].index(note_uuid)
    assert main[M.TABLE].Values[index][-1] == "网站整改记录"
    # Opened from the list, it comes back in its own schema's editor.
    main[M.TABLE].update(select_rows=[index])
    app.pump()
    click(app, main, M.OPEN)
    reopened = app.editors[note_uuid]
    assert reopened.schema.name == "sample_rectification_note"
    assert reopened.window[(E.FIELD, "note")].get() == "已修复首页死链 3 处"
    click(app, reopened.window, E.CLOSE)

    # 生成文件 with nothing selected, forms of two types listed: which type is asked (a package
    # holds one type), among the types that have forms.
    from plugins.basic_info.schema import example_form

    app.store.add_document(example_form())
    app.main.refresh()
    out = tmp_path / "整改记录.zip"
    dialogs.answers += ["网站整改记录", str(out)]
    main[M.TABLE].update(select_rows=[])
    app.pump()
    click(app, main, M.EXPORT)
    from app.forms.package import read_package

    package = read_package(out)
    assert package.form_type == "sample_rectification_note" and list(package.files) == [note_uuid]
    assert dialogs.messages("choice")[-1][2] == (app.catalog.schemas[0].label, "网站整改记录")
    # Both types selected: refused, one package holds one type.
    main[M.TABLE].update(select_rows=[0, 1])
    app.pump()
    click(app, main, M.EXPORT)
    assert "所选表单属于不同的表" in dialogs.messages("error")[-1][1]

    # The web app imports the filler's package through the plugin's own form type.
    records = import_in_web_app(national_db_file, tmp_path, tmp_path / "site", "sample_rectification_note",
                                out, "pucha_sample_plugin.plugin:RectificationNote", ("note",))
    assert {u: r["note"] for u, r in records.items()} == {note_uuid: "已修复首页死链 3 处"}


def test_the_generic_editor_fills_every_table_of_a_schema(app_with_types):
    from app.forms.package import read_package, validate_forms
    from filler.gui import editor as E

    app, dialogs, tmp_path = app_with_types
    editor = new_from_menu(app, "网站检查记录")
    window, schema = editor.window, editor.schema
    assert set(editor.groups) == {"problems.content", "problems.service", "fixes.all"}
    assert editor.tab_titles == {"problems.content": "发现的问题：内容问题",
                                 "problems.service": "发现的问题：服务问题", "fixes.all": "整改措施"}
    type_into(app, window, (E.FIELD, "site_name"), "上城区政府网")
    type_into(app, window, (E.FIELD, "home_url"), "http://www.hzsc.gov.cn/")
    window[(E.FIELD, "checked")].update("是")
    window.write_event_value((E.FIELD, "checked"), "是")
    app.pump()

    def fill(gid, slot_label, *cells, add=True):
        window[(E.ROW_SLOT, gid)].update(slot_label)
        if add:
            click(app, window, (E.ROW_ADD, gid))
        table = editor.groups[gid][0]
        for index, (column, value) in enumerate(zip(table.columns, cells)):
            key = E.row_key(gid, index)
            if E.picks(column):  # a drop-down: the pick is the answer
                window[key].update(value)
                window.write_event_value(key, value)
                app.pump()
            else:
                type_into(app, window, key, value)

    content = "problems.content"
    select_tab(app, window, content)
    # The blank row a new form starts with is the first one typed into.
    window[(E.TABLE, content)].update(select_rows=[0])
    app.pump()
    fill(content, "死链", "首页死链", "http://www.hzsc.gov.cn/a/", "严重", add=False)
    fill(content, "死链", "栏目页死链", "www.hzsc.gov.cn/b/", "一般")
    assert "死链第 2 行问题网址应为以 http://" in window[(E.ROW_ERROR, content)].get()
    type_into(app, window, E.row_key(content, 1), "http://www.hzsc.gov.cn/b/")
    assert window[(E.ROW_ERROR, content)].get() == ""
    fill(content, "死链", "多余的一行", "http://www.hzsc.gov.cn/c/", "一般")
    click(app, window, (E.ROW_DELETE, content))
    editor.selected[content] = None
    window[(E.ROW_SLOT, content)].update("长期未更新")
    click(app, window, (E.ROW_NONE, content))
    assert editor.document["problems"]["content"]["stale"] == [{"what": "无", "where": "无", "level": "无"}]

    service = "problems.service"
    select_tab(app, window, service)
    window[(E.TABLE, service)].update(select_rows=[0])
    app.pump()
    fill(service, "留言未回复", "留言 3 天未回复", "http://www.hzsc.gov.cn/ly/", "一般", add=False)
    fixes = "fixes.all"
    select_tab(app, window, fixes)
    window[(E.TABLE, fixes)].update(select_rows=[0])
    app.pump()
    fill(fixes, "措施", "修复死链", "是", add=False)
    fill(fixes, "措施", "回复留言", "否")
    assert [row[2:4] for row in window[(E.TABLE, fixes)].Values] == [["修复死链", "是"], ["回复留言", "否"]]

    click(app, window, E.SAVE)
    assert "校验通过" in window[E.STATUS].get(), window[E.STATUS].get()
    saved = app.store.load(editor.uuid).document
    assert [r["what"] for r in saved["problems"]["content"]["dead_link"]] == ["首页死链", "栏目页死链"]
    assert saved["fixes"]["all"]["steps"] == [{"step": "修复死链", "done": "是"}, {"step": "回复留言", "done": "否"}]

    out = tmp_path / "检查记录.zip"
    dialogs.answers.append(str(out))
    click(app, window, E.EXPORT)
    package = read_package(out)
    assert package.form_type == "site_check_note"
    assert all(result.ok for result in validate_forms(package, schema))


def test_the_template_asks_which_type(app_with_types):
    from openpyxl import load_workbook

    from filler.gui import main_window as M

    app, dialogs, tmp_path = app_with_types
    template = tmp_path / "检查模板.xlsx"
    dialogs.answers += ["网站检查记录", str(template)]
    click(app, app.main.window, M.TEMPLATE)
    asked = dialogs.messages("choice")[-1]
    assert asked[2] == tuple(s.label for s in app.catalog.schemas)
    assert dialogs.messages("save")[-1][1] == "下载Excel模板：选择保存位置"
    assert load_workbook(template).sheetnames == ["填写说明", "网站基本信息", "问题信息", "整改措施信息"]
    dialogs.answers.append(None)  # 取消: nothing is written
    click(app, app.main.window, M.TEMPLATE)
    assert len(dialogs.messages("save")) == 1
