"""Update check on start (seed 000, 客户端软件: 每次打开时会自动获取版本更新信息并提示).

One short GET of ``<server>/api/v1/client/version``; anything that goes wrong (no network, a
proxy page, a server of another version) means "offline" and the filler carries on: filing units
often work on machines without internet access.
"""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Optional

from filler import __version__

VERSION_PATH = "/api/v1/client/version"
DEFAULT_TIMEOUT = 3.0
MAX_RESPONSE_BYTES = 64 * 1024


@dataclass
class UpdateInfo:
    status: str  # "newer", "current", "offline"
    current: str
    latest: Optional[str] = None
    download_url: Optional[str] = None
    detail: str = ""

    @property
    def newer(self) -> bool:
        return self.status == "newer"

    def message(self) -> str:
        if self.status == "newer":
            where = f"，请到 {self.download_url} 下载安装" if self.download_url else "，请到报送系统首页“技术支持中心”下载安装"
            return f"发现新版本 {self.latest}（当前 {self.current}）{where}。请只从报送系统首页或技术支持中心下载。"
        if self.status == "current":
            return f"当前已是最新版本 {self.current}"
        return f"无法连接报送系统检查更新，可以正常离线填写（{self.detail}）" if self.detail else "无法连接报送系统检查更新，可以正常离线填写"


def parse_version(text: str) -> tuple:
    """'1.10.2' → (1, 10, 2); anything after the numbers (rc, build tags) is ignored."""
    parts = []
    for piece in str(text).strip().lstrip("vV").split("."):
        match = re.match(r"\d+", piece)
        if not match:
            break
        parts.append(int(match.group()))
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def check_for_update(server_url: str, current: str = __version__,
                     timeout: float = DEFAULT_TIMEOUT) -> UpdateInfo:
    base = (server_url or "").strip().rstrip("/")
    if not re.match(r"https?://", base):
        return UpdateInfo("offline", current, detail="未设置报送系统地址")
    url = base + VERSION_PATH
    request = urllib.request.Request(url, headers={
        "Accept": "application/json",
        "User-Agent": f"pucha-filler/{current}",
    })
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read(MAX_RESPONSE_BYTES + 1)
    except urllib.error.HTTPError as exc:
        return UpdateInfo("offline", current, detail=f"服务器返回 {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return UpdateInfo("offline", current, detail=str(reason)[:120])
    if len(body) > MAX_RESPONSE_BYTES:
        return UpdateInfo("offline", current, detail="服务器响应异常")
    try:
        data = json.loads(body.decode("utf-8"))
        latest = data["latest"]
        if not isinstance(latest, str) or not parse_version(latest):
            raise ValueError(latest)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return UpdateInfo("offline", current, detail="服务器响应不是版本信息")
    download = data.get("download_url") if isinstance(data.get("download_url"), str) else None
    if download:
        # The server may answer with a path ("/support/"); make it a full address to show.
        download = urllib.parse.urljoin(base + "/", download)
    if parse_version(latest) > parse_version(current):
        return UpdateInfo("newer", current, latest, download)
    return UpdateInfo("current", current, latest, download)
