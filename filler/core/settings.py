"""The filler's small settings file: where the data folder is and which server to ask for updates.

It lives under the user's home (``~/.pucha-filler/settings.json``; ``%APPDATA%\\pucha-filler`` on
Windows), never next to the program: an installation under ``C:\\Program Files`` is read-only for
ordinary users, which is what made the old client fail with "找不到路径" (FAQ §7).
``PUCHA_FILLER_HOME`` moves it (tests, portable installs).
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filler.core.atomic import atomic_write_json, read_json

DEFAULT_SERVER_URL = "http://127.0.0.1:8080"


def settings_home() -> Path:
    override = os.environ.get("PUCHA_FILLER_HOME")
    if override:
        return Path(override).expanduser()
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "pucha-filler"
    return Path.home() / ".pucha-filler"


def default_data_dir() -> Path:
    """Where forms are kept unless the user picks another folder.

    Documents is where people look for their files and is writable without administrator rights;
    the folder name is Chinese so a filing unit recognises it when copying it to another computer.
    """
    override = os.environ.get("PUCHA_FILLER_DATA")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    documents = home / "Documents"
    base = documents if documents.is_dir() else home
    return base / "政府网站普查填报数据"


@dataclass
class Settings:
    data_dir: str = ""
    server_url: str = DEFAULT_SERVER_URL
    check_updates: bool = True
    # Where 生成文件 last saved a package, so the next dialog opens there.
    last_export_dir: str = ""
    path: Path = field(default=None, repr=False, compare=False)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).expanduser() if self.data_dir else default_data_dir()

    @property
    def data_source(self) -> str:
        """Why ``data_path`` is what it is, in the words the window shows."""
        if self.data_dir:
            return "设置中保存的位置"  # chosen with 数据目录 or `python -m filler data-dir`
        if os.environ.get("PUCHA_FILLER_DATA"):
            return "环境变量 PUCHA_FILLER_DATA"
        return "默认位置"

    @classmethod
    def load(cls, path=None) -> "Settings":
        path = Path(path) if path else settings_home() / "settings.json"
        settings = cls(path=path)
        try:
            raw = read_json(path)
        except FileNotFoundError:
            return settings
        except (OSError, ValueError):
            # A damaged settings file must not stop a filing unit from reaching its forms:
            # fall back to the defaults (the forms live elsewhere and are untouched).
            return settings
        if isinstance(raw, dict):
            for name in ("data_dir", "server_url", "last_export_dir"):
                if isinstance(raw.get(name), str):
                    setattr(settings, name, raw[name])
            if isinstance(raw.get("check_updates"), bool):
                settings.check_updates = raw["check_updates"]
        return settings

    def save(self) -> None:
        data = asdict(self)
        data.pop("path", None)
        atomic_write_json(self.path or settings_home() / "settings.json", data)
