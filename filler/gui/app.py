"""The filler application: settings, store, the main window and the editors, one event loop."""
from __future__ import annotations

import threading
from pathlib import Path

import PySimpleGUI as sg

from filler.core.catalog import Catalog, catalog as default_catalog
from filler.core.settings import Settings
from filler.core.store import FormStore, StoreError
from filler.core.update import check_for_update
from filler.gui.dialogs import Dialogs
from filler.gui.editor import EditorController
from filler.gui.fonts import DEFAULT_SIZE, choose_family
from filler.gui.main_window import UPDATE_EVENT, MainController


def configure_look():
    """Plain light colours (the "system default" themes break Input.update in PySimpleGUI 6) and a font with Chinese glyphs; returns (font, small, title)."""
    sg.theme("LightGrey1")
    family = choose_family()
    font = (family, DEFAULT_SIZE) if family else None
    sg.set_options(font=font, tooltip_font=font)
    small = (family, DEFAULT_SIZE - 1) if family else None
    title = (family, DEFAULT_SIZE + 4, "bold") if family else None
    return font, small, title


class FillerApp:
    """``catalog``: the form types to offer (default: every one the filler finds); ``schema``
    instead offers that one type only."""

    def __init__(self, settings: Settings, schema=None, dialogs=None, data_dir=None, check_updates=None,
                 catalog: Catalog = None):
        self.catalog = Catalog([schema]) if schema is not None else (catalog or default_catalog())
        self.settings = settings
        self.font, self.small_font, self.title_font = configure_look()
        self.dialogs = dialogs or Dialogs(self.font)
        self.store = FormStore(Path(data_dir) if data_dir else settings.data_path, self.catalog.schemas)
        # Shown beside the folder, so whoever supports a unit can tell why it is this one.
        self.data_source = "本次由 --data-dir 指定" if data_dir else settings.data_source
        self.check_updates = settings.check_updates if check_updates is None else check_updates
        self.main = MainController(self)
        self.editors = {}
        self.running = False
        self.update_thread = None

    # -- lifetime -----------------------------------------------------------------------------

    def start(self):
        try:
            self.store.ensure()
        except StoreError as exc:
            self.dialogs.error(str(exc))
        self.main.open()
        if self.catalog.problems:
            # A plugin that failed to load costs its own form type only: say so, keep working.
            self.main.set_status("\n".join(self.catalog.problems), error=True)
        self.running = True
        if self.check_updates:
            self.update_thread = threading.Thread(target=self._check_updates, daemon=True)
            self.update_thread.start()
        return self

    def _check_updates(self):
        info = check_for_update(self.settings.server_url)
        window = self.main.window
        if self.running and window is not None and not window.was_closed():
            window.write_event_value(UPDATE_EVENT, info)

    def quit(self):
        for editor in list(self.editors.values()):
            editor.close()  # each saves what was typed
        self.running = False
        if self.main.window is not None:
            self.main.window.close()

    # -- windows ------------------------------------------------------------------------------

    def open_editor(self, stored, is_new=False):
        existing = self.editors.get(stored.uuid)
        if existing and not existing.closed:
            existing.window.bring_to_front()
            return existing
        editor = EditorController(self, stored, is_new=is_new)
        self.editors[stored.uuid] = editor
        return editor

    def editor_closed(self, editor):
        if self.editors.get(editor.uuid) is editor:
            del self.editors[editor.uuid]

    def switch_data_dir(self, path: Path):
        new_store = self.store.with_root(path).ensure()
        for editor in list(self.editors.values()):
            editor.close()
        self.store = new_store
        self.settings.data_dir = str(path)
        self.settings.save()
        self.data_source = self.settings.data_source
        self.main.refresh()

    # -- events -------------------------------------------------------------------------------

    def dispatch(self, window, event, values):
        if window is None:
            return
        if window is self.main.window:
            self.main.handle(event, values)
            return
        for editor in list(self.editors.values()):
            if editor.window is window:
                editor.handle(event, values)
                return

    def step(self, timeout=100) -> bool:
        """Process at most one event; False when the wait timed out with nothing to do."""
        window, event, values = sg.read_all_windows(timeout=timeout)
        if event == sg.TIMEOUT_EVENT:
            return False
        self.dispatch(window, event, values)
        return True

    def pump(self, idle_timeout=150, limit=500):
        """Handle events until none arrives for ``idle_timeout`` ms (the tests' way to wait)."""
        for _ in range(limit):
            if not self.running or not self.step(idle_timeout):
                return

    def run(self):
        self.start()
        while self.running:
            self.step(timeout=500)
        return 0


def run(settings_path=None, data_dir=None) -> int:
    settings = Settings.load(settings_path)
    found = default_catalog()
    if not len(found):
        Dialogs(configure_look()[0]).error("本客户端中没有可以填写的表单类型" + ("：\n" + "\n".join(found.problems) if found.problems else ""))
        return 2
    return FillerApp(settings, data_dir=data_dir, catalog=found).run()
