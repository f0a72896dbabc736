"""Modal questions and messages, behind one small class.

The controllers ask this object instead of calling PySimpleGUI popups directly: a file dialog
blocks until a person answers, so the GUI tests hand the controllers a scripted stand-in, while
everything else (windows, tables, inputs, events) stays real.
"""
from __future__ import annotations

from typing import Optional

from app.forms.atomic import atomic_write_bytes

XLSX_TYPES = (("Excel 工作簿", "*.xlsx"),)
ZIP_TYPES = (("上报文件", "*.zip"),)
TXT_TYPES = (("文本文件", "*.txt"),)
REPORT_TEXT, REPORT_COPY, REPORT_SAVE, REPORT_STATUS = "-REPORT-", "-COPY-", "-SAVE-AS-", "-REPORT-STATUS-"


class Dialogs:
    def __init__(self, font=None):
        self.font = font

    def _sg(self):
        import PySimpleGUI as sg

        return sg

    def ask_save_path(self, title: str, default_name: str, initial_dir: str = "",
                      file_types=ZIP_TYPES, extension: str = ".zip") -> Optional[str]:
        sg = self._sg()
        path = sg.popup_get_file(title, title=title, save_as=True, no_window=True,
                                 default_path=default_name, default_extension=extension,
                                 file_types=file_types, initial_folder=initial_dir or None)
        return path or None

    def ask_open_path(self, title: str, initial_dir: str = "", file_types=XLSX_TYPES) -> Optional[str]:
        sg = self._sg()
        path = sg.popup_get_file(title, title=title, no_window=True, file_types=file_types,
                                 initial_folder=initial_dir or None)
        return path or None

    def ask_folder(self, title: str, initial_dir: str = "") -> Optional[str]:
        sg = self._sg()
        path = sg.popup_get_folder(title, title=title, no_window=True, initial_folder=initial_dir or None)
        return path or None

    def _ask(self, title: str, message: str, buttons, color=None) -> Optional[str]:
        # PySimpleGUI's popups label their buttons in English; ours say 确定 / 取消.
        sg = self._sg()
        layout = [[sg.Text(message, font=self.font, text_color=color)],
                  [sg.Push()] + [sg.Button(label, key=label, font=self.font) for label in buttons]]
        window = sg.Window(title, layout, modal=True, keep_on_top=True, finalize=True, font=self.font)
        event, _ = window.read()
        window.close()
        return None if event == sg.WIN_CLOSED else event

    def ask_choice(self, title: str, message: str, options) -> Optional[str]:
        """One of ``options`` (a button each, e.g. the form types), None for 取消."""
        answer = self._ask(title, message, tuple(options) + ("取消",))
        return answer if answer in options else None

    def confirm(self, message: str, title: str = "请确认") -> bool:
        return self._ask(title, message, ("确定", "取消")) == "确定"

    def info(self, message: str, title: str = "提示") -> None:
        self._ask(title, message, ("确定",))

    def error(self, message: str, title: str = "出错了") -> None:
        self._ask(title, message, ("确定",), color="#b00020")

    def report(self, title: str, text: str, initial_dir: str = "") -> None:
        """A long list (refused forms, Excel errors) in a scrollable box the user can copy or save."""
        self.choose(title, text, ("确定",), initial_dir)

    def choose(self, title: str, text: str, buttons, initial_dir: str = "") -> Optional[str]:
        """The report box with a button per answer (e.g. 只导入正确的行 / 都不导入), besides 复制
        and 另存为; returns the answer's label, None when the window is closed."""
        window = self.report_window(title, text, buttons)
        return self.run_report(window, text, buttons, initial_dir)

    def report_window(self, title: str, text: str, buttons):
        sg = self._sg()
        layout = [[sg.Multiline(text, size=(100, 20), disabled=True, font=self.font, key=REPORT_TEXT)],
                  [sg.Button("复制", key=REPORT_COPY, font=self.font, tooltip="复制全部内容，可粘贴到微信、邮件或文档中"),
                   sg.Button("另存为…", key=REPORT_SAVE, font=self.font, tooltip="保存为文本文件（.txt）"),
                   sg.Text("", key=REPORT_STATUS, size=(40, 1), font=self.font), sg.Push()]
                  + [sg.Button(label, key=label, font=self.font) for label in buttons]]
        return sg.Window(title, layout, modal=True, keep_on_top=True, finalize=True, font=self.font)

    def run_report(self, window, text: str, buttons, initial_dir: str = "") -> Optional[str]:
        sg = self._sg()
        answer = None
        while True:
            event, _ = window.read()
            if event in buttons:
                answer = event
                break
            if event == sg.WIN_CLOSED:
                break
            if event == REPORT_COPY:
                window.TKroot.clipboard_clear()
                window.TKroot.clipboard_append(text)
                window[REPORT_STATUS].update("已复制")
            elif event == REPORT_SAVE:
                path = self.ask_save_path("保存问题清单", "问题清单.txt", initial_dir, TXT_TYPES, ".txt")
                if path:
                    try:
                        # With the BOM, Notepad on older Windows reads the Chinese text.
                        atomic_write_bytes(path, text.encode("utf-8-sig"))
                        window[REPORT_STATUS].update(f"已保存：{path}")
                    except OSError as exc:
                        window[REPORT_STATUS].update(f"无法保存：{exc.strerror or exc}")
        window.close()
        return answer
