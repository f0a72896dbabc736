"""The main window: the forms saved on this computer and what can be done with them."""
from __future__ import annotations

import os
import webbrowser
from pathlib import Path

import PySimpleGUI as sg

from filler import APP_NAME, __version__
from filler.core.excel import ExcelError, export_workbook, plan_import, save_import, write_template
from filler.core.export import ExportError, default_package_name, export_forms
from filler.core.listing import TABLE_HEADINGS, list_forms
from filler.core.store import FormStore, StoreError
from filler.gui.dialogs import XLSX_TYPES, ZIP_TYPES

TABLE = "-FORMS-"
NEW, OPEN, COPY, DELETE = "-NEW-", "-OPEN-", "-COPY-", "-DELETE-"
# The 新建 menu: one entry per form type of the catalogue, its event "<title>::-NEW-<type>".
NEW_MENU = "新建"
NEW_ENTRY = "-NEW-"
EXPORT, IMPORT_EXCEL, TEMPLATE, DATA_DIR = "-EXPORT-", "-IMPORT-EXCEL-", "-TEMPLATE-", "-DATA-DIR-"
EXPORT_EXCEL = "-EXPORT-EXCEL-"
ONLY_VALID, IMPORT_NONE = "只导入正确的行", "都不导入"
DATA_DIR_TEXT, STATUS = "-DATA-DIR-TEXT-", "-STATUS-"
UPDATE_TEXT, UPDATE_OPEN, UPDATE_EVENT = "-UPDATE-TEXT-", "-UPDATE-OPEN-", "-UPDATE-"
DOUBLE_CLICK = "DOUBLE"
# Above this many forms 生成文件 shows a progress window (below it the work takes a blink).
PROGRESS_THRESHOLD = 20


class MainController:
    def __init__(self, app):
        self.app = app
        self.summaries = []
        self.update_info = None
        self.progress_seen = []  # (done, total) pairs of the last export, for the tests
        self.window = None
        self.popped_menu = None

    @property
    def schemas(self) -> list:
        return self.app.catalog.schemas

    def new_menu_events(self) -> dict:
        """The 新建 menu's event of each form type → the type's name."""
        return {f"{schema.label}::{NEW_ENTRY}{schema.name}": schema.name for schema in self.schemas}

    def open(self):
        one = self.schemas[0].label if len(self.schemas) == 1 else None
        buttons = [
            sg.Button("新建", key=NEW, tooltip=f"新建一份{one}（每个网站一份）" if one else
                      "新建一份表单：在弹出的菜单中选择哪一种表（每个网站每种表一份）"),
            sg.Button("打开", key=OPEN, tooltip="打开选中的表单继续填写（也可双击）"),
            sg.Button("复制为新表", key=COPY, tooltip="以选中表单的内容新建一份表单（新的内部标识），用于填写另一个网站"),
            sg.Button("删除", key=DELETE, tooltip="删除选中的表单（移到数据目录的 recycle 文件夹，可找回）"),
            sg.Button("生成文件", key=EXPORT, tooltip="把选中的表单（未选中则为全部）生成一个上报文件（.zip）"),
            sg.Button("从Excel导入", key=IMPORT_EXCEL,
                      tooltip="从填好的 Excel 表格批量导入表单；同一表格再次导入会更新上次导入的表单"),
            sg.Button("导出到Excel", key=EXPORT_EXCEL,
                      tooltip="把选中的表单（未选中则为全部）导出为 Excel 表格（带内部标识），"
                              "在 Excel 中修改后“从Excel导入”即更新这些表单"),
            sg.Button("下载Excel模板", key=TEMPLATE, tooltip="生成批量填写用的 Excel 模板"),
            sg.Button("数据目录", key=DATA_DIR, tooltip="查看或更换保存表单的文件夹"),
        ]
        menu = [[f"{NEW_MENU}(&N)", list(self.new_menu_events())]]
        heading = one or "、".join(s.label for s in self.schemas)
        layout = [
            [sg.Menu(menu, key="-MENU-", font=self.app.font)],
            [sg.Text(heading, font=self.app.title_font)],
            [sg.pin(sg.Text("", key=UPDATE_TEXT, visible=False, text_color="#b00020",
                            background_color="#fff3cd", size=(100, 2))),
             sg.pin(sg.Button("打开下载页", key=UPDATE_OPEN, visible=False))],
            buttons,
            [sg.Table(values=[], headings=TABLE_HEADINGS, key=TABLE, col_widths=[26, 30, 16, 16, 22, 26],
                      auto_size_columns=False, num_rows=20, enable_events=True, justification="left",
                      select_mode=sg.TABLE_SELECT_MODE_EXTENDED, expand_x=True, expand_y=True,
                      tooltip="可按住 Ctrl 或 Shift 选择多份表单")],
            [sg.Text("", key=DATA_DIR_TEXT, size=(120, 1), font=self.app.small_font)],
            [sg.Text("", key=STATUS, size=(120, 2))],
        ]
        self.window = sg.Window(f"{APP_NAME} {__version__}", layout, finalize=True, resizable=True,
                                location=(0, 0), font=self.app.font)
        self.window[TABLE].bind("<Double-Button-1>", DOUBLE_CLICK)
        self.refresh()
        return self.window

    # -- list ---------------------------------------------------------------------------------

    def refresh(self, select_uuids=()):
        if self.window is None:
            return
        try:
            self.summaries = list_forms(self.app.store)
        except OSError as exc:
            self.summaries = []
            self.set_status(f"无法读取数据目录：{exc}", error=True)
        rows = [s.row() for s in self.summaries]
        chosen = [i for i, s in enumerate(self.summaries) if s.uuid in set(select_uuids)]
        self.window[TABLE].update(values=rows, select_rows=chosen)
        valid = sum(1 for s in self.summaries if s.valid)
        # The path last: a long one is cut at its end, never the counts.
        self.window[DATA_DIR_TEXT].update(
            f"共 {len(self.summaries)} 份表单，{valid} 份通过校验。"
            f"数据目录（{self.app.data_source}）：{self.app.store.root}")

    def selected_uuids(self, values) -> list:
        rows = (values or {}).get(TABLE) or []
        return [self.summaries[i].uuid for i in rows if i < len(self.summaries) and not self.summaries[i].broken]

    def set_status(self, text, error=False):
        self.window[STATUS].update(text, text_color="#b00020" if error else "#000000")

    # -- events -------------------------------------------------------------------------------

    def handle(self, event, values):
        if event in (sg.WIN_CLOSED, sg.WINDOW_CLOSE_ATTEMPTED_EVENT):
            self.app.quit()
        elif event == NEW:
            self.new_form()
        elif event in self.new_menu_events():
            self.new_form(self.new_menu_events()[event])
        elif event in (OPEN, (TABLE, DOUBLE_CLICK)):
            self.open_selected(values)
        elif event == COPY:
            self.copy_selected(values)
        elif event == DELETE:
            self.delete_selected(values)
        elif event == EXPORT:
            uuids = self.selected_uuids(values)
            if not uuids:
                present = self.types_present()
                if not present:
                    self.app.dialogs.info("还没有表单。请先点击“新建”填写。")
                    return
                # A package holds one form type: all forms means all forms of one type.
                schema = self.choose_type("生成文件：选择哪一种表", present)
                if schema is None:
                    return
                uuids = [s.uuid for s in self.summaries if not s.broken and s.form_type == schema.name]
            self.export(uuids)
        elif event == IMPORT_EXCEL:
            self.import_excel()
        elif event == EXPORT_EXCEL:
            self.export_excel(self.selected_uuids(values))
        elif event == TEMPLATE:
            self.save_template()
        elif event == DATA_DIR:
            self.change_data_dir()
        elif event == UPDATE_EVENT:
            self.show_update(values[UPDATE_EVENT])
        elif event == UPDATE_OPEN and self.update_info and self.update_info.download_url:
            webbrowser.open(self.update_info.download_url)

    def new_form(self, form_type=None):
        """A new form of ``form_type``; with none named, of the only type, or the type picked
        from the 新建 menu that pops up under the button."""
        if form_type is None and len(self.schemas) > 1:
            self.pop_new_menu()
            return
        try:
            stored = self.app.store.new(form_type)
        except StoreError as exc:
            self.app.dialogs.error(str(exc))
            return
        self.app.open_editor(stored, is_new=True)

    def pop_new_menu(self):
        """The 新建 menu's entries, under the 新建 button."""
        import tkinter

        button = self.window[NEW].widget
        menu = tkinter.Menu(button, tearoff=0, font=self.app.font)
        for event, _name in self.new_menu_events().items():
            menu.add_command(label=event.split("::")[0],
                             command=lambda event=event: self.window.write_event_value(event, None))
        self.popped_menu = menu  # the last one shown (a script can read its entries)
        menu.tk_popup(button.winfo_rootx(), button.winfo_rooty() + button.winfo_height())
        menu.grab_release()

    def types_present(self) -> list:
        """The schemas of the forms listed, in catalogue order."""
        names = {s.form_type for s in self.summaries if not s.broken}
        return [schema for schema in self.schemas if schema.name in names]

    def choose_type(self, title: str, schemas=None):
        """One form type: the only one offered, or the one the user picks."""
        schemas = list(schemas if schemas is not None else self.schemas)
        if len(schemas) == 1:
            return schemas[0]
        answer = self.app.dialogs.ask_choice(title, "选择表单类型：", [s.label for s in schemas])
        return next((s for s in schemas if s.label == answer), None)

    def schema_of_selection(self, uuids):
        """The one form type of the selected forms, None (with a message) when they are several."""
        types = {s.form_type for s in self.summaries if s.uuid in set(uuids)}
        if len(types) > 1:
            self.app.dialogs.error("所选表单属于不同的表，一次只能处理一种表。请只选择同一种表的表单。")
            return None
        return self.app.store.schema_of(next(iter(types))) if types else self.app.store.schema

    def open_selected(self, values):
        uuids = self.selected_uuids(values)
        if not uuids:
            self.set_status("请先在列表中选中要打开的表单", error=True)
            return
        for form_uuid in uuids[:5]:  # five windows at once is already a lot
            try:
                stored = self.app.store.load(form_uuid)
            except StoreError as exc:
                self.app.dialogs.error(str(exc))
                continue
            self.app.open_editor(stored)

    def copy_selected(self, values):
        uuids = self.selected_uuids(values)
        if len(uuids) != 1:
            self.set_status("请选中一份表单再点击“复制为新表”", error=True)
            return
        try:
            copy = self.app.store.copy_as_new(uuids[0])
        except StoreError as exc:
            self.app.dialogs.error(str(exc))
            return
        self.refresh(select_uuids=[copy.uuid])
        self.set_status("已复制为一份新表单（新的内部标识）。请修改网站名称、网址等，使它对应另一个网站。")
        self.app.open_editor(copy)

    def delete_selected(self, values):
        uuids = self.selected_uuids(values)
        if not uuids:
            self.set_status("请先在列表中选中要删除的表单", error=True)
            return
        names = [s.name or "（未填写网站名称）" for s in self.summaries if s.uuid in uuids]
        shown = "、".join(names[:5]) + ("等" if len(names) > 5 else "")
        if not self.app.dialogs.confirm(
                f"确定删除 {len(uuids)} 份表单（{shown}）吗？\n"
                f"删除的表单移到数据目录的 recycle 文件夹，需要时可以找回。"):
            return
        for form_uuid in uuids:
            editor = self.app.editors.get(form_uuid)
            if editor:
                editor.discard()
            try:
                self.app.store.delete(form_uuid)
            except StoreError as exc:
                self.app.dialogs.error(str(exc))
        self.refresh()
        self.set_status(f"已删除 {len(uuids)} 份表单（在 {self.app.store.recycle_dir} 中可以找回）")

    # -- 生成文件 ------------------------------------------------------------------------------

    def save_open_editors(self, uuids=None):
        """Forms open in an editor are saved first, so a file gets what is on the screen."""
        for form_uuid, editor in list(self.app.editors.items()):
            if editor.dirty and (uuids is None or form_uuid in uuids):
                editor.save()

    @property
    def data_folder(self) -> str:
        """Where the file dialogs open: the data folder, not wherever the program was started."""
        return str(self.app.store.root)

    def export(self, uuids):
        self.save_open_editors(uuids)
        settings = self.app.settings
        last = settings.last_export_dir
        initial = last if last and Path(last).is_dir() else self.data_folder
        schema = self.schema_of_selection(uuids)
        if schema is None:
            return
        path = self.app.dialogs.ask_save_path("生成文件：选择上报文件的保存位置",
                                              default_package_name(len(uuids), schema=schema),
                                              initial, ZIP_TYPES, ".zip")
        if not path:
            return
        if not path.lower().endswith(".zip"):
            path += ".zip"
        self.progress_seen = []
        progress_window = None
        if len(uuids) >= PROGRESS_THRESHOLD:
            progress_window = sg.Window("正在生成文件", [
                [sg.Text("正在校验表单……", key="-P-TEXT-", size=(50, 1))],
                [sg.ProgressBar(len(uuids) + 1, orientation="h", size=(50, 20), key="-P-BAR-")],
            ], finalize=True, modal=True, keep_on_top=True, font=self.app.font, disable_close=True)

        def progress(done, total, text):
            self.progress_seen.append((done, total))
            if progress_window is not None:
                progress_window["-P-BAR-"].update(current_count=done, max=total)
                progress_window["-P-TEXT-"].update(text)
                progress_window.read(timeout=0)  # let Tk paint; the export runs in this thread

        try:
            result = export_forms(self.app.store, uuids, Path(path), progress=progress)
        except ExportError as exc:
            if progress_window is not None:
                progress_window.close()
            self.set_status("没有生成文件", error=True)
            self.app.dialogs.report("没有生成文件", str(exc), self.data_folder)
            self.refresh(select_uuids=uuids)
            return
        if progress_window is not None:
            progress_window.close()
        settings.last_export_dir = str(Path(path).parent)
        try:
            settings.save()
        except OSError:
            pass  # remembering the folder is a convenience, never a reason to fail
        self.refresh(select_uuids=uuids)
        message = (f"已生成上报文件：{result.path}\n共 {len(result.exported)} 份表单。"
                   f"请将此文件通过邮件、U盘等方式递交本级组织单位。")
        self.set_status(f"已生成 {result.path.name}（{len(result.exported)} 份表单）"
                        + (f"，{len(result.refused)} 份未通过校验未包含" if result.refused else ""),
                        error=bool(result.refused))
        if result.refused:
            lines = [message, "", f"以下 {len(result.refused)} 份表单未通过校验，没有包含在文件中，"
                                  f"请打开修改后重新生成：", ""]
            lines += [f"{i}. {r.text()}" for i, r in enumerate(result.refused, start=1)]
            self.app.dialogs.report("生成文件：部分表单未包含", "\n".join(lines), self.data_folder)
        else:
            self.app.dialogs.info(message, "生成文件")

    # -- Excel --------------------------------------------------------------------------------

    def import_excel(self):
        path = self.app.dialogs.ask_open_path("选择填好的 Excel 表格", self.data_folder, XLSX_TYPES)
        if not path:
            return
        # What is on the screen counts: an open form is saved, then compared with its sheet row.
        self.save_open_editors()
        try:
            result = plan_import(self.app.store, Path(path))
        except (ExcelError, StoreError) as exc:
            self.app.dialogs.error(str(exc))
            return
        only_valid = False
        if result.errors:
            good = len(result.good_sites)
            if not good:
                self.set_status(f"Excel 中有 {len(result.errors)} 处问题，未导入", error=True)
                self.app.dialogs.report("从Excel导入：有问题", result.report(imported=False), self.data_folder)
                return
            bad = len(result.bad_sites)
            text = (f"Excel 中有 {len(result.errors)} 处问题" + (f"，涉及 {bad} 个网站" if bad else "")
                    + f"；{good} 个网站没有问题。\n"
                    f"可以“{ONLY_VALID}”（有问题的网站不导入，改正后再次导入同一表格即可），"
                    f"或“{IMPORT_NONE}”，改正后重新导入。\n\n" + result.problems())
            answer = self.app.dialogs.choose("从Excel导入：有问题", text, (ONLY_VALID, IMPORT_NONE), self.data_folder)
            if answer != ONLY_VALID:
                self.set_status(f"Excel 中有 {len(result.errors)} 处问题，未导入", error=True)
                return
            only_valid = True
        try:
            result = save_import(self.app.store, result, only_valid=only_valid)
        except StoreError as exc:
            self.app.dialogs.error(str(exc))
            return
        self.reopen_editors(result.updated)
        self.refresh(select_uuids=result.saved + result.unchanged)
        done = len(result.created) + len(result.updated) + len(result.unchanged)
        if result.errors:
            self.set_status(f"已从 Excel 导入 {done} 个网站（{result.summary()}），"
                            f"{len(result.errors)} 处问题未导入", error=True)
            self.app.dialogs.report("从Excel导入：部分导入", result.report(imported=True), self.data_folder)
            return
        self.set_status(f"已从 Excel 导入 {done} 个网站（{result.summary()}）")
        self.app.dialogs.info(f"已从 Excel 导入 {done} 个网站：{result.summary()}。", "从Excel导入")

    def reopen_editors(self, uuids):
        """An open editor of a form the import replaced shows the imported content (it was saved
        before the import, so nothing typed is lost)."""
        for form_uuid in uuids:
            editor = self.app.editors.get(form_uuid)
            if editor is None:
                continue
            editor.discard()
            try:
                self.app.open_editor(self.app.store.load(form_uuid))
            except StoreError as exc:
                self.app.dialogs.error(str(exc))

    def export_excel(self, uuids):
        if not self.summaries:
            self.app.dialogs.info("还没有表单。请先点击“新建”填写，或点击“下载Excel模板”批量填写。")
            return
        self.save_open_editors()
        if uuids:
            schema = self.schema_of_selection(uuids)
        else:
            schema = self.choose_type("导出到Excel：选择哪一种表", self.types_present() or self.schemas)
        if schema is None:
            return
        count = len(uuids) or len([s for s in self.summaries if not s.broken and s.form_type == schema.name])
        name = str(Path(default_package_name(count, schema=schema)).with_suffix(".xlsx"))
        path = self.app.dialogs.ask_save_path("导出到Excel：选择保存位置", name, self.data_folder, XLSX_TYPES, ".xlsx")
        if not path:
            return
        if not path.lower().endswith(".xlsx"):
            path += ".xlsx"
        try:
            out, written, broken = export_workbook(self.app.store, Path(path), uuids or None, form_type=schema.name)
        except (ExcelError, StoreError) as exc:
            self.app.dialogs.error(str(exc))
            return
        except OSError as exc:
            self.app.dialogs.error(f"无法保存 Excel 表格：{exc.strerror or exc}")
            return
        unread = f"（{len(broken)} 个表单文件无法读取，没有导出）" if broken else ""
        self.set_status(f"已导出 {written} 份表单到 Excel：{out}{unread}", error=bool(broken))
        self.app.dialogs.info(f"已导出 {written} 份表单到：{out}{unread}\n"
                              f"在 Excel 中修改后点击“从Excel导入”，这些表单会被更新（按最后一列“内部标识”对应），不会重复。"
                              f"请勿修改“内部标识”一列。", "导出到Excel")

    def save_template(self):
        schema = self.choose_type("下载Excel模板：选择哪一种表")
        if schema is None:
            return
        path = self.app.dialogs.ask_save_path("下载Excel模板：选择保存位置",
                                              f"{schema.package_folder or schema.label}批量填写模板.xlsx",
                                              self.data_folder, XLSX_TYPES, ".xlsx")
        if not path:
            return
        try:
            write_template(schema, Path(path))
        except OSError as exc:
            self.app.dialogs.error(f"无法保存模板：{exc.strerror or exc}")
            return
        self.set_status(f"已生成 Excel 模板：{path}")
        self.app.dialogs.info(f"已生成 Excel 模板：{path}\n请按“填写说明”工作表填写，然后点击“从Excel导入”。", "下载Excel模板")

    # -- data folder --------------------------------------------------------------------------

    def change_data_dir(self):
        current = str(self.app.store.root)
        path = self.app.dialogs.ask_folder(
            f"当前数据目录：{current}\n选择新的数据目录（可选择从其他电脑复制来的数据文件夹）", current)
        if not path:
            return
        try:
            self.app.switch_data_dir(Path(path))
        except StoreError as exc:
            self.app.dialogs.error(str(exc))
            return
        self.set_status(f"数据目录已改为：{self.app.store.root}")

    # -- update notice ------------------------------------------------------------------------

    def show_update(self, info):
        self.update_info = info
        if info.newer:
            self.window[UPDATE_TEXT].update(info.message(), visible=True)
            self.window[UPDATE_OPEN].update(visible=bool(info.download_url))
        else:
            self.set_status(info.message())
