"""The filler's real window under Xvfb, driven through its events.

Buttons are pressed with Tk's own ``invoke`` (the same path as a mouse click), text reaches the
inputs as X key events typed by xdotool or through the element, and leaving a field is a real
``<FocusOut>``. Only modal dialogs (file choosers, confirmations) are scripted, because a person
answers those. Screenshots: PUCHA_UPDATE_SCREENSHOTS=1 copies them to docs/images/.
"""
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.components import require
from tests.support.version_server import VersionServer

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"


class ScriptedDialogs:
    """Stands in for the modal dialogs; records what the user would have been told."""

    def __init__(self):
        self.answers = []
        self.log = []

    def _next(self, kind, *args):
        self.log.append((kind,) + args)
        return self.answers.pop(0) if self.answers else None

    # Each file question records the folder its dialog would open in.
    def ask_save_path(self, title, default_name="", initial_dir="", *args):
        return self._next("save", title, initial_dir)

    def ask_open_path(self, title, initial_dir="", *args):
        return self._next("open", title, initial_dir)

    def ask_folder(self, title, initial_dir=""):
        return self._next("folder", title, initial_dir)

    def confirm(self, message, title=""):
        self.log.append(("confirm", message))
        return True

    def info(self, message, title=""):
        self.log.append(("info", message))

    def error(self, message, title=""):
        self.log.append(("error", message))

    def report(self, title, text, initial_dir=""):
        self.log.append(("report", title, text))

    def choose(self, title, text, buttons, initial_dir=""):
        return self._next("choose", title, text, buttons)

    def messages(self, kind):
        return [entry for entry in self.log if entry[0] == kind]


@pytest.fixture
def gui(xvfb_display, tmp_path, monkeypatch):
    try:
        import tkinter  # noqa: F401
    except ImportError:
        tkinter = None
    require("tkinter", tkinter is not None, "Install python3-tk (the Python build needs Tk).")
    from filler.gui.fonts import available_families

    require("Noto Sans CJK", "Noto Sans CJK SC" in available_families(),
            "Install it with `apt-get install -y fonts-noto-cjk` (.ci/run does).")
    monkeypatch.setenv("PUCHA_FILLER_HOME", str(tmp_path / "home"))
    server = VersionServer({"latest": "9.9.9", "download_url": "/support/"})

    from filler.core.settings import Settings
    from filler.core.store import FormStore
    from filler.gui.app import FillerApp
    from plugins.basic_info.schema import SCHEMA, example_form

    settings = Settings(path=tmp_path / "home" / "settings.json", data_dir=str(tmp_path / "data"),
                        server_url=server.url)
    store = FormStore(settings.data_path, SCHEMA).ensure()
    for variant in (0, 2):
        store.add_document(example_form(variant=variant))
    draft = store.new()
    draft.document["fields"].update(site_name="西湖区文化广电旅游体育局", home_url="http://wgly.hzxh.gov.cn/")
    store.save(draft)

    dialogs = ScriptedDialogs()
    app = FillerApp(settings, dialogs=dialogs, check_updates=True).start()
    app.pump()
    try:
        yield app, dialogs, tmp_path
    finally:
        if app.running:
            app.quit()
        server.close()


def wait_for(app, condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.step(50)
        if condition():
            return True
    return condition()


def screenshot(window, path):
    """Grab the window's area of the virtual screen (real pixels, as the user sees them)."""
    root = window.TKroot
    root.update()
    x, y, w, h = root.winfo_rootx(), root.winfo_rooty(), root.winfo_width(), root.winfo_height()
    tool = shutil.which("import")
    require("ImageMagick import", tool is not None, "apt-get install -y imagemagick")
    subprocess.run([tool, "-window", "root", "-crop", f"{w}x{h}+{x}+{y}", "+repage", str(path)],
                   check=True, timeout=60)
    assert path.stat().st_size > 10_000
    if os.environ.get("PUCHA_UPDATE_SCREENSHOTS"):
        IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, IMAGES / path.name)


def click(app, window, key):
    # Tk's invoke() runs the button's own command, as a mouse click does; queued with after()
    # so it runs inside the event loop, where a real click would arrive.
    widget = window[key].widget
    widget.after(1, widget.invoke)
    app.pump()


def type_into(app, window, key, text, leave=True):
    """Put ``text`` into an input and report the change, then leave the field (a real FocusOut)."""
    element = window[key]
    element.update(text)
    window.write_event_value(key, text)
    app.pump()
    if leave:
        element.widget.event_generate("<FocusOut>", when="tail")
        app.pump()


def select_tab(app, window, tab):
    """Bring a tab to the front, as the user's click on it does (Tk only delivers focus events
    to widgets that are on screen)."""
    from filler.gui import editor as E

    window[(E.TAB, tab)].select()
    window.TKroot.update()
    app.pump()


def xdotool_type(app, window, key, text):
    """Real X key events into the focused input."""
    tool = shutil.which("xdotool")
    require("xdotool", tool is not None, "apt-get install -y xdotool")
    element = window[key]
    element.update("")
    element.widget.focus_force()
    window.TKroot.update()
    subprocess.run([tool, "type", "--delay", "20", text], check=True, timeout=30)
    for _ in range(len(text) + 5):
        app.step(60)
    return element.get()


def test_fill_save_reopen_and_export_in_the_real_window(gui):
    from filler.gui import editor as E
    from filler.gui import main_window as M
    from plugins.basic_info.schema import SCHEMA, example_form

    app, dialogs, tmp_path = gui
    main = app.main.window
    assert app.font[0] == "Noto Sans CJK SC"

    # The update notice arrives from the (local) server shortly after start.
    assert wait_for(app, lambda: main[M.UPDATE_TEXT].visible), "no update notice"
    assert "发现新版本 9.9.9" in main[M.UPDATE_TEXT].get()
    assert len(app.main.summaries) == 3
    assert str(app.store.root) in main[M.DATA_DIR_TEXT].get()
    screenshot(main, tmp_path / "filler.png")

    # 新建: a new editor window.
    click(app, main, M.NEW)
    assert len(app.editors) == 1
    editor = next(iter(app.editors.values()))
    window = editor.window
    new_uuid = editor.uuid

    # Real keystrokes into one field; a wrong mobile number shows its message at the field.
    typed = xdotool_type(app, window, (E.FIELD, "principal_mobile"), "1380571")
    assert typed == "1380571"
    assert editor.document["fields"]["principal_mobile"] == "1380571"
    window[(E.FIELD, "principal_mobile")].widget.event_generate("<FocusOut>", when="tail")
    app.pump()
    assert window[(E.FIELD_ERROR, "principal_mobile")].get().startswith("负责人手机应为以 1 开头的 11 位手机号码")

    source = example_form(variant=1)
    for f in SCHEMA.filler_fields():
        if f.name == "principal_mobile":
            continue
        if f.kind == "choice":
            window[(E.FIELD, f.name)].update(source["fields"][f.name])
            window.write_event_value((E.FIELD, f.name), source["fields"][f.name])
            app.pump()
        else:
            type_into(app, window, (E.FIELD, f.name), source["fields"][f.name])
    # 无 where the schema allows it; normalization (full-width digits) as the field is left.
    type_into(app, window, (E.FIELD, "office_address"), "无")
    assert window[(E.FIELD_ERROR, "office_address")].get() == ""
    assert source["fields"]["contact_phone"] == "0571-85601235"
    type_into(app, window, (E.FIELD, "contact_phone"), "０５７１－８５６０１２３５")
    assert window[(E.FIELD, "contact_phone")].get() == "0571-85601235"
    assert window[(E.FIELD_ERROR, "contact_phone")].get() == ""

    # Columns table, 信息发布类: rows added, typed, moved, deleted; the other groups say 无.
    gid = "columns.info"
    table = SCHEMA.table("columns")
    select_tab(app, window, gid)
    for slot in table.groups[0].slots:
        rows = source["columns"]["info"][slot.key]
        window[(E.ROW_SLOT, gid)].update(slot.label)
        if table.is_none_row(rows[0]):
            editor.selected[gid] = None
            click(app, window, (E.ROW_NONE, gid))
            continue
        for row in rows:
            click(app, window, (E.ROW_ADD, gid))
            type_into(app, window, (E.ROW_NAME, gid), row["name"])
            type_into(app, window, (E.ROW_ADDRESS, gid), row["address"])
    # The blank first rows that a new form starts with are removed row by row.
    for slot in table.groups[0].slots:
        rows = editor.document["columns"]["info"][slot.key]
        while len(rows) > len(source["columns"]["info"][slot.key]):
            blank = next(i for i, r in enumerate(rows) if not r["name"])
            line = editor.lines[gid].index((slot.key, blank))
            window[(E.TABLE, gid)].update(select_rows=[line])
            app.pump()
            click(app, window, (E.ROW_DELETE, gid))
    news = editor.document["columns"]["info"]["news"]
    assert [r["name"] for r in news] == ["工作动态", "部门动态"]
    # Move 部门动态 up and back down again.
    window[(E.TABLE, gid)].update(select_rows=[editor.lines[gid].index(("news", 1))])
    app.pump()
    click(app, window, (E.ROW_UP, gid))
    assert [r["name"] for r in news] == ["部门动态", "工作动态"]
    click(app, window, (E.ROW_DOWN, gid))
    assert [r["name"] for r in news] == ["工作动态", "部门动态"]
    for group in table.groups[1:]:
        other = f"columns.{group.key}"
        select_tab(app, window, other)
        for slot in group.slots:
            rows = source["columns"][group.key][slot.key]
            editor.selected[other] = None
            window[(E.ROW_SLOT, other)].update(slot.label)
            if table.is_none_row(rows[0]):
                click(app, window, (E.ROW_NONE, other))
            else:
                window[(E.TABLE, other)].update(select_rows=[editor.lines[other].index((slot.key, 0))])
                app.pump()
                type_into(app, window, (E.ROW_NAME, other), rows[0]["name"])
                type_into(app, window, (E.ROW_ADDRESS, other), rows[0]["address"])
    # A wrong address shows its message under the row editor and in the table.
    select_tab(app, window, "columns.service")
    window[(E.TABLE, "columns.service")].update(select_rows=[0])
    app.pump()
    type_into(app, window, (E.ROW_ADDRESS, "columns.service"), "mzj.hzsc.gov.cn/bszn/")
    assert "办事服务类—办事指南第 1 行地址应为以 http://" in window[(E.ROW_ERROR, "columns.service")].get()

    # 保存 while invalid: saved anyway, and the window says why it is not valid.
    click(app, window, E.SAVE)
    status = window[E.STATUS].get()
    assert status.startswith("已保存") and "校验未通过：共 2 处问题" in status
    assert "（1 处问题）" in window[(E.TAB, "fields")].Title
    assert app.store.exists(new_uuid)
    window[(E.TAB, "fields")].select()
    window[E.FIELDS_COLUMN].Widget.canvas.yview_moveto(0.3)  # the mobile number's message in view
    app.pump()
    assert window[(E.FIELD_ERROR, "principal_mobile")].get().startswith("负责人手机应为")
    screenshot(window, tmp_path / "filler-editor.png")

    type_into(app, window, (E.FIELD, "principal_mobile"), source["fields"]["principal_mobile"])
    type_into(app, window, (E.ROW_ADDRESS, "columns.service"), source["columns"]["service"]["guide"][0]["address"])
    click(app, window, E.SAVE)
    assert "校验通过" in window[E.STATUS].get()
    click(app, window, E.CLOSE)
    assert app.editors == {}

    # The list shows it; reopen it from the list and find every value again.
    rows = {s.uuid: s for s in app.main.summaries}
    assert rows[new_uuid].name == "杭州市上城区民政局" and rows[new_uuid].valid
    index = [s.uuid for s in app.main.summaries].index(new_uuid)
    main[M.TABLE].update(select_rows=[index])
    app.pump()
    click(app, main, M.OPEN)
    editor = app.editors[new_uuid]
    expected = dict(source["fields"], office_address="无")
    for f in SCHEMA.filler_fields():
        assert editor.window[(E.FIELD, f.name)].get() == expected[f.name], f.name
    saved = app.store.load(new_uuid).document
    assert saved["columns"] == source["columns"]
    assert [row[2] for row in editor.window[(E.TABLE, gid)].Values[:4]] == ["机构概况", "工作动态", "部门动态", "通知公告"]
    click(app, editor.window, E.CLOSE)

    # 生成文件 of every form: the draft is refused with its reasons, the others are packed.
    out = tmp_path / "交付" / "基本信息表.zip"
    dialogs.answers.append(str(out))
    main[M.TABLE].update(select_rows=[])
    app.pump()
    click(app, main, M.EXPORT)
    assert out.exists()
    from app.forms.package import read_package

    package = read_package(out)
    assert new_uuid in package.files and len(package) == 3
    report = dialogs.messages("report")[-1]
    assert "1 份表单未通过校验" in report[2] and "西湖区文化广电旅游体育局" in report[2]
    assert "请填写网站主管单位" in report[2]
    assert "已生成" in main[M.STATUS].get()
    rows = {s.uuid: s for s in app.main.summaries}
    assert rows[new_uuid].export_state == "current"


def test_copy_delete_progress_and_data_folder(gui):
    from filler.gui import main_window as M
    from plugins.basic_info.schema import example_form

    app, dialogs, tmp_path = gui
    main = app.main.window
    first = app.main.summaries[0]
    main[M.TABLE].update(select_rows=[0])
    app.pump()
    click(app, main, M.COPY)
    assert len(app.main.summaries) == 4
    copy_uuid = next(iter(app.editors))
    assert copy_uuid != first.uuid
    click(app, app.editors[copy_uuid].window, "-CLOSE-")

    index = [s.uuid for s in app.main.summaries].index(copy_uuid)
    main[M.TABLE].update(select_rows=[index])
    app.pump()
    click(app, main, M.DELETE)
    assert copy_uuid not in app.store.uuids() and len(app.store.recycled()) == 1
    assert dialogs.messages("confirm")

    for i in range(M.PROGRESS_THRESHOLD + 5):
        app.store.add_document(example_form(variant=i))
    app.main.refresh()
    out = tmp_path / "many.zip"
    dialogs.answers.append(str(out))
    main[M.TABLE].update(select_rows=list(range(len(app.main.summaries))))
    app.pump()
    click(app, main, M.EXPORT)
    assert out.exists()
    assert len(app.main.progress_seen) >= M.PROGRESS_THRESHOLD
    assert app.main.progress_seen[-1][0] == app.main.progress_seen[-1][1]

    # 数据目录: switch to a copy of the folder (another computer's data) and back.
    moved = tmp_path / "U盘" / "数据"
    shutil.copytree(app.store.root, moved)
    dialogs.answers.append(str(moved))
    click(app, main, M.DATA_DIR)
    assert app.store.root == moved and str(moved) in main[M.DATA_DIR_TEXT].get()
    assert len(app.main.summaries) == M.PROGRESS_THRESHOLD + 5 + 3
    from filler.core.settings import Settings

    assert Settings.load(app.settings.path).data_path == moved


def test_offline_start_says_so_and_works(xvfb_display, tmp_path, monkeypatch):
    import socket

    from filler.core.settings import Settings
    from filler.gui import main_window as M
    from filler.gui.app import FillerApp

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = Settings(path=tmp_path / "settings.json", data_dir=str(tmp_path / "data"),
                        server_url=f"http://127.0.0.1:{port}")
    app = FillerApp(settings, dialogs=ScriptedDialogs(), check_updates=True).start()
    try:
        assert wait_for(app, lambda: "离线" in app.main.window[M.STATUS].get())
        assert not app.main.window[M.UPDATE_TEXT].visible
        click(app, app.main.window, M.NEW)
        assert len(app.editors) == 1
    finally:
        app.quit()


def screen_y(window, key):
    window.TKroot.update_idletasks()
    return window[key].widget.winfo_rooty()


def test_an_error_line_does_not_move_the_field_under_the_cursor(gui):
    """The user leaves 首页网址 with a wrong address and reaches for the next field: the message
    that appears under 首页网址 must not push that field (or any below) away."""
    from filler.gui import editor as E
    from filler.gui import main_window as M

    app, dialogs, tmp_path = gui
    click(app, app.main.window, M.NEW)
    editor = next(iter(app.editors.values()))
    window = editor.window
    below = [(E.FIELD, name) for name in ("supervisor_unit", "filing_unit", "principal_mobile", "contact_email")]
    before = {key: screen_y(window, key) for key in below}
    line_height = window[(E.FIELD_ERROR, "home_url")].widget.winfo_height()

    typed = xdotool_type(app, window, (E.FIELD, "home_url"), "www.hzsc.gov.cn")
    assert typed == "www.hzsc.gov.cn"
    window[(E.FIELD, "home_url")].widget.event_generate("<FocusOut>", when="tail")
    app.pump()
    assert window[(E.FIELD_ERROR, "home_url")].get().startswith("首页网址应为以 http://")
    assert {key: screen_y(window, key) for key in below} == before
    assert window[(E.FIELD_ERROR, "home_url")].widget.winfo_height() == line_height

    # 保存 shows every message at once: still nothing moves.
    click(app, window, E.SAVE)
    assert window[(E.FIELD_ERROR, "supervisor_unit")].get().startswith("请填写网站主管单位")
    assert {key: screen_y(window, key) for key in below} == before
    # And a corrected field clears its line without pulling the others up.
    type_into(app, window, (E.FIELD, "home_url"), "http://www.hzsc.gov.cn/")
    assert window[(E.FIELD_ERROR, "home_url")].get() == ""
    assert {key: screen_y(window, key) for key in below} == before


def test_excel_round_trip_through_the_window(gui):
    """导出到Excel → edit the sheet → 从Excel导入 with 只导入正确的行: the same forms change (an
    open editor shows it), the bad row is listed, and every file dialog opens in the data folder."""
    from openpyxl import load_workbook

    from filler.gui import editor as E
    from filler.gui import main_window as M

    app, dialogs, tmp_path = gui
    main = app.main.window
    data = str(app.store.root)
    assert f"数据目录（设置中保存的位置）：{data}" in main[M.DATA_DIR_TEXT].get()
    before = set(app.store.uuids())
    by_name = {s.name: s.uuid for s in app.main.summaries}
    hangzhou = by_name["杭州市上城区人民政府"]
    draft = by_name["西湖区文化广电旅游体育局"]
    # One form is open, with a change typed but not yet saved.
    main[M.TABLE].update(select_rows=[[s.uuid for s in app.main.summaries].index(hangzhou)])
    app.pump()
    click(app, main, M.OPEN)
    type_into(app, app.editors[hangzhou].window, (E.FIELD, "principal_name"), "王建国（已改）", leave=False)

    sheet = tmp_path / "导出.xlsx"
    dialogs.answers.append(str(sheet))
    main[M.TABLE].update(select_rows=[])
    app.pump()
    click(app, main, M.EXPORT_EXCEL)
    assert dialogs.messages("save")[-1][2] == data
    wb = load_workbook(sheet)
    ws = wb["网站基本信息"]
    headers = [c.value for c in ws[1]]
    rows = {r[-1].value: r[0].row for r in ws.iter_rows(min_row=2) if r[0].value}
    assert set(rows) == before and headers[-1] == "内部标识"
    assert ws.cell(row=rows[hangzhou], column=headers.index("负责人姓名") + 1).value == "王建国（已改）"
    ws.cell(row=rows[hangzhou], column=headers.index("办公地址") + 1, value="杭州市上城区市民街 1 号")
    wb.save(sheet)

    # The draft's row is incomplete: asked, the user imports only the right rows.
    dialogs.answers += [str(sheet), M.ONLY_VALID]
    click(app, main, M.IMPORT_EXCEL)
    assert dialogs.messages("open")[-1][2] == data
    choose = dialogs.messages("choose")[-1]
    assert choose[3] == (M.ONLY_VALID, M.IMPORT_NONE)
    assert f"「网站基本信息」第 {rows[draft]} 行" in choose[2] and "请填写网站主管单位" in choose[2]
    report = dialogs.messages("report")[-1]
    assert report[1] == "从Excel导入：部分导入"
    assert "已导入 2 个网站（更新 1 份，内容未变 1 份）" in report[2] and f"（第 {rows[draft]} 行）" in report[2]
    assert set(app.store.uuids()) == before
    assert app.store.load(hangzhou).document["fields"]["office_address"] == "杭州市上城区市民街 1 号"
    editor = app.editors[hangzhou]
    assert editor.window[(E.FIELD, "office_address")].get() == "杭州市上城区市民街 1 号"
    assert editor.window[(E.FIELD, "principal_name")].get() == "王建国（已改）"
    assert "导入 2 个网站" in main[M.STATUS].get()
    click(app, editor.window, E.CLOSE)

    # 都不导入 leaves everything as it was.
    revisions = {u: app.store.load(u).revision for u in before}
    dialogs.answers += [str(sheet), M.IMPORT_NONE]
    click(app, main, M.IMPORT_EXCEL)
    assert {u: app.store.load(u).revision for u in before} == revisions
    assert "未导入" in main[M.STATUS].get()

    # The template and the package dialogs open in the data folder too.
    dialogs.answers.append(None)
    click(app, main, M.TEMPLATE)
    dialogs.answers.append(None)
    click(app, main, M.EXPORT)
    assert [entry[2] for entry in dialogs.messages("save")[-2:]] == [data, data]


def test_the_report_box_copies_and_saves_its_text(xvfb_display, tmp_path):
    """The real report window: 复制 puts the whole report on the clipboard, 另存为 writes it."""
    from filler.gui.app import configure_look
    from filler.gui.dialogs import REPORT_COPY, REPORT_SAVE, REPORT_STATUS, Dialogs

    font, _small, _title = configure_look()
    target = tmp_path / "问题清单.txt"

    class SaveHere(Dialogs):
        def ask_save_path(self, title, default_name="", initial_dir="", *args):
            self.asked_in = initial_dir
            return str(target)  # the file chooser is a person's answer

    dialogs = SaveHere(font)
    text = "1. 「网站基本信息」第 3 行：负责人手机应为以 1 开头的 11 位手机号码\n2. 「栏目信息」第 9 行：…"
    window = dialogs.report_window("从Excel导入：有问题", text, ("只导入正确的行", "都不导入"))
    seen = {}

    def press(key, then=None):
        def go():
            window[key].widget.invoke()
            if then:
                window.TKroot.after(50, then)
        return go

    def look():
        seen["clipboard"] = window.TKroot.clipboard_get()
        seen["status"] = window[REPORT_STATUS].get()
        window.TKroot.after(50, press(REPORT_SAVE, lambda: window.TKroot.after(50, press("只导入正确的行"))))

    window.TKroot.after(100, press(REPORT_COPY, look))
    answer = dialogs.run_report(window, text, ("只导入正确的行", "都不导入"), str(tmp_path))
    assert answer == "只导入正确的行"
    assert seen == {"clipboard": text, "status": "已复制"}
    assert target.read_text(encoding="utf-8-sig") == text and dialogs.asked_in == str(tmp_path)


def test_the_window_names_the_data_folder_and_where_it_comes_from(xvfb_display, tmp_path, monkeypatch):
    from filler.core.settings import Settings
    from filler.gui import main_window as M
    from filler.gui.app import FillerApp

    monkeypatch.setenv("PUCHA_FILLER_DATA", str(tmp_path / "环境变量指定"))
    cases = [({}, tmp_path / "环境变量指定", "环境变量 PUCHA_FILLER_DATA"),
             ({"data_dir": tmp_path / "命令行指定"}, tmp_path / "命令行指定", "本次由 --data-dir 指定")]
    for kwargs, folder, source in cases:
        settings = Settings(path=tmp_path / "settings.json")
        app = FillerApp(settings, dialogs=ScriptedDialogs(), check_updates=False, **kwargs).start()
        try:
            app.pump()
            assert app.store.root == folder and (folder / "forms").is_dir()
            assert f"数据目录（{source}）：{folder}" in app.main.window[M.DATA_DIR_TEXT].get()
        finally:
            app.quit()
