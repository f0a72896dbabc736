"""Modal questions and messages, behind one small class.

The controllers ask this object instead of calling PySimpleGUI popups directly: a file dialog
blocks until a person answers, so the GUI tests hand the controllers a scripted stand-in, while
everything else (windows, tables, inputs, events) stays real.
"""
from __future__ import annotations

from typing import Optional

XLSX_TYPES = (("Excel 工作簿", "*.xlsx"),)
ZIP_TYPES = (("上报文件", "*.zip"),)


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

    def confirm(self, message: str, title: str = "请确认") -> bool:
        return self._ask(title, message, ("确定", "取消")) == "确定"

    def info(self, message: str, title: str = "提示") -> None:
        self._ask(title, message, ("确定",))

    def error(self, message: str, title: str = "出错了") -> None:
        self._ask(title, message, ("确定",), color="#b00020")

    def report(self, title: str, text: str) -> None:
        """A long list (refused forms, Excel errors) in a scrollable box the user can copy."""
        sg = self._sg()
        layout = [[sg.Multiline(text, size=(100, 20), disabled=True, font=self.font)],
                  [sg.Button("确定", key="-OK-", font=self.font)]]
        window = sg.Window(title, layout, modal=True, keep_on_top=True, finalize=True, font=self.font)
        while True:
            event, _ = window.read()
            if event in (sg.WIN_CLOSED, "-OK-"):
                break
        window.close()
