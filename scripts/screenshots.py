"""Take the screenshots in docs/images/ from the real app in a real browser.

    .venv/bin/python scripts/screenshots.py [--out docs/images]

Sets up a fresh embedded database exactly as `make run` does (`flask pucha setup`, in a temp
folder), serves it on a free port of 127.0.0.1 and drives Debian's Chromium through Playwright:

  home.png             the public home page, with the census notice the administrator set
  recover.png          标识码找回, filled in
  notice.png           the administrator's 首页普查通知 page, after saving
  support-admin.png    the administrator's 技术支持中心 page, after publishing the installer
  support.png          the public 技术支持中心: installer with version, size and SHA-256, the guide,
                       the FAQ and the hotline
  login.png            the login page
  change-password.png  a county's first login, held on the forced password change
  admin.png            the administrator, after the password change, on the national org tree
                       (the README shows this one)

Needs the dev requirements and Debian's chromium and fonts-noto-cjk (.ci/run installs them).
"""
import argparse
import logging
import os
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VIEWPORT = {"width": 1280, "height": 800}
COUNTY = "330102"
COUNTY_PASSWORD = "Shangcheng2025"
ADMIN_PASSWORD = "Pucha2025admin"
NOTICE = ("2015年全国政府网站普查：各地区、各部门请于5月15日前完成政府网站基本信息的填报和审核，\n"
          "6月30日前完成自查评分。客户端软件和使用手册请在技术支持中心下载。")


def set_up(var_dir):
    """Run the real setup command; return its output (it prints the admin's initial password)."""
    env = dict(os.environ, PUCHA_VAR_DIR=str(var_dir), PUCHA_SECRET_KEY=secrets.token_hex(16))
    env.pop("PUCHA_DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "pucha", "setup"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"setup failed:\n{result.stdout}\n{result.stderr}")
    os.environ.update(PUCHA_VAR_DIR=env["PUCHA_VAR_DIR"], PUCHA_SECRET_KEY=env["PUCHA_SECRET_KEY"])
    return result.stdout


def serve():
    from werkzeug.serving import make_server

    from app.factory import create_app

    app = create_app()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return app, server, f"http://127.0.0.1:{server.server_port}"


def initial_password(app, username):
    from sqlalchemy import select

    from app.accounts.models import PuchaUser
    from app.extensions import db

    with app.app_context():
        password = db.session.execute(
            select(PuchaUser.initial_password).where(PuchaUser.username == username)).scalar_one()
        db.session.remove()
    return password


def take(page, out, name):
    path = out / name
    page.screenshot(path=str(path))
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def publish_support_files(page, base, tmp):
    """As the administrator: the filler installer, a FAQ entry and the hotline, through the page."""
    installer = tmp / "报送系统客户端.exe"
    installer.write_bytes(b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + bytes(range(256)) * 8192)
    page.goto(f"{base}/admin/support/")
    page.select_option("#kind", "installer")
    page.fill("#title", "报送系统客户端（Windows）")
    page.fill("#version", "1.0.0")
    page.fill("#note", "适用于 Windows 7 及以上版本。安装前请关闭杀毒软件的实时拦截。")
    page.set_input_files("#file", str(installer))
    with page.expect_navigation():
        page.locator("#support-publish-form [type=submit]").click()
    page.fill("#question", "客户端启动时提示“有新版本”怎么办？")
    page.fill("#answer", "请到技术支持中心下载最新的安装程序，核对 SHA-256 后覆盖安装；已填写的数据不会丢失。")
    with page.expect_navigation():
        page.locator("#support-faq-form [type=submit]").click()
    page.fill("#hotline", "010-82356408")
    page.fill("#mail", "pucha@example.gov.cn")
    with page.expect_navigation():
        page.locator("#support-contact-form [type=submit]").click()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"))
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    from playwright.sync_api import sync_playwright

    from tests.support.browser import (chromium_available, launch_chromium, log_in,
                                       submit_password_change)

    if not chromium_available():
        sys.exit("Chromium is missing: apt-get install -y chromium fonts-noto-cjk")

    with tempfile.TemporaryDirectory(prefix="pucha-shots-") as tmp:
        output = set_up(Path(tmp) / "var")
        match = re.search(r"管理员账号：(\S+)\s+初始密码：(\S+?)（", output)
        if not match:
            sys.exit(f"could not read the administrator's password from setup:\n{output}")
        admin_name, admin_initial = match.groups()
        app, server, base = serve()
        try:
            with sync_playwright() as playwright:
                context = launch_chromium(playwright, str(Path(tmp) / "profile"))
                context.set_default_timeout(30_000)
                page = context.pages[0] if context.pages else context.new_page()
                page.set_viewport_size(VIEWPORT)

                page.goto(f"{base}/login/")
                take(page, out, "login.png")

                log_in(page, base, COUNTY, initial_password(app, COUNTY))
                take(page, out, "change-password.png")
                context.clear_cookies()

                log_in(page, base, admin_name, admin_initial)
                submit_password_change(page, admin_initial, ADMIN_PASSWORD)
                page.goto(f"{base}/orgs/list/")
                take(page, out, "admin.png")

                page.goto(f"{base}/admin/notice/")
                page.fill("textarea[name=notice]", NOTICE)
                with page.expect_navigation():
                    page.locator("#census-notice-form [type=submit]").click()
                take(page, out, "notice.png")
                publish_support_files(page, base, Path(tmp))
                take(page, out, "support-admin.png")
                context.clear_cookies()
                page.goto(f"{base}/support/")
                take(page, out, "support.png")

                page.goto(f"{base}/")
                take(page, out, "home.png")
                page.goto(f"{base}/site-codes/recover/")
                page.fill("input[name=site]", "杭州市上城区人民政府")
                page.fill("input[name=contact]", "wangjg@hzsc.gov.cn")
                take(page, out, "recover.png")
                context.close()
        finally:
            server.shutdown()
            server.server_close()


if __name__ == "__main__":
    main()
