"""The list of 政府网站基本信息表 as 杭州市 sees it on an ordinary office screen (1366×768), in a
real Chromium: one toolbar above the data, no name broken over two lines, 当前所在单位 on every
row, 退回选中 on the rows it ticked, with the project's own Chinese warning for an empty reason,
and a second form of an already reported website warned about on import and listed on 重复网站.

Screenshots: PUCHA_UPDATE_SCREENSHOTS=1 copies the list with a ticked row and the 重复网站 page
to docs/images/ (shown in docs/user-guide.md).
"""
import os
import shutil

import pytest

from plugins.basic_info.demo import package_bytes, site_form
from tests.support import browser
from tests.support.demo import load_demo
from tests.test_basic_info_browser import DOCS_IMAGES, Office

pytestmark = pytest.mark.browser

CITY = "330100"
EDUCATION = "杭州市上城区教育局"  # the demo's form waiting for 杭州市's review


@pytest.fixture
def demo_server(national_db_file, tmp_path):
    with browser.serve_national_copy(national_db_file, tmp_path, prepare=load_demo) as live:
        yield live


def one_line(page, selector):
    """Whether the text of every element matching ``selector`` sits on a single line."""
    return page.eval_on_selector_all(selector, """cells => cells.map(cell => {
        // The line boxes of the cell's text nodes: one line when they all share a baseline.
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        const bottoms = [];
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            for (const rect of range.getClientRects()) bottoms.push(rect.bottom);
        }
        const spread = bottoms.length ? Math.max(...bottoms) - Math.min(...bottoms) : 0;
        return [cell.innerText.trim(), spread < 4];
    })""")


def test_the_city_list_on_an_office_screen_and_return_selected(demo_server, browser_page, tmp_path):
    page = browser_page
    page.set_viewport_size({"width": 1366, "height": 768})
    office = Office(page, demo_server)
    office.log_in(CITY, first_time=True)
    office.open_list()

    # One toolbar above the table (ours), FAB's pager row aside; the search opens on demand.
    assert page.locator(".form-toolbar").count() == 1
    assert not page.locator("#list-search").is_visible()
    for label in ("导入", "全部审核（1）", "审核通过选中", "退回选中", "导出上报表", "搜索"):
        assert label in page.inner_text(".form-toolbar"), label

    # Every short cell on one line, the table no wider than the screen.
    headers = page.locator("table.form-list thead th").all_inner_texts()
    columns = {name.strip(): i for i, name in enumerate(headers)}
    assert "当前所在单位" in columns, headers
    for name in ("序号", "填报人", "时间", "状态", "当前所在单位", "网站标识码", "省/部", "市", "县"):
        nth = columns[name] + 1
        cells = one_line(page, f"table.form-list tbody td:nth-child({nth})")
        assert cells and all(ok for _, ok in cells), (name, cells)
    widths = page.eval_on_selector("table.form-list",
                                   "t => [t.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], widths

    row = page.locator("table.form-list tbody tr", has_text=EDUCATION)
    assert "杭州市（今天）" in row.inner_text()
    # The list colours statuses as the detail page does.
    list_class = row.locator(".label").get_attribute("class")

    # Tick the row; the two actions come alive and count it.
    assert page.locator("#btn-return-selected").is_disabled()
    row.locator("input.row-select").check()
    assert page.locator("#btn-return-selected").is_enabled()
    assert "退回选中（1）" in page.inner_text("#btn-return-selected")
    page.screenshot(path=str(tmp_path / "basic-info-selected.png"))

    page.click("#btn-return-selected")
    page.wait_for_selector("#return-selected-modal", state="visible")
    page.click("#go-return-selected")
    message = page.eval_on_selector("#reason-selected", "e => e.validationMessage")
    assert message == "请填写退回原因", message
    assert page.locator("#return-selected-modal").is_visible()  # nothing was sent

    page.fill("#reason-selected", "栏目地址打不开，请核实")
    office.submit_and_wait("#go-return-selected")
    assert "退回选中：共 1 份表单" in office.flash()
    assert "待下级审核" in page.locator("table.form-list tbody tr",
                                      has_text=EDUCATION).inner_text()

    with page.expect_navigation():
        page.locator("table.form-list tbody tr", has_text=EDUCATION).locator(
            "a", has_text=EDUCATION).click()
    detail_class = page.locator(".form-status").get_attribute("class")
    assert detail_class.split()[1] == "label-primary"  # 待下级审核, as on the list
    assert list_class.split()[1] == "label-warning"  # it was 未审核 there
    timeline = page.inner_text("table.audit-timeline")
    assert "未审核（杭州市） → 已退回（上城区）" in timeline, timeline
    assert "栏目地址打不开，请核实" in timeline

    # The city imports a form for a website 上城区 has already reported, written differently:
    # the report warns, naming the other form, and 重复网站 lists the pair.
    package = tmp_path / "杭州市上报文件.zip"
    package.write_bytes(package_bytes([site_form("杭州市上城区人民政府门户网站", "hzsc.gov.cn", "是",
                                                 variant=3, unit=CITY)]))
    office.open_list()
    page.click("#btn-import")
    page.wait_for_selector("#import-modal", state="visible")
    page.set_input_files("#import-files", str(package))
    office.submit_and_wait("#import-go")
    warning = page.inner_text(".form-warnings")
    assert "杭州市上城区人民政府" in warning and "上城区" in warning, warning

    page.goto(f"{demo_server.url}/")
    page.locator(".navbar a.dropdown-toggle", has_text="普查表").click()
    with page.expect_navigation():
        page.locator(".navbar .dropdown-menu a", has_text="重复网站").click()
    assert "共 1 个网站有重复表单" in page.inner_text("body")
    pair = page.locator("table.duplicate-forms tbody tr").all_inner_texts()
    assert len(pair) == 2 and {"杭州市上城区人民政府", "杭州市上城区人民政府门户网站"} == {
        row.split("\t")[0].strip() for row in pair}, pair
    page.screenshot(path=str(tmp_path / "basic-info-duplicates.png"))

    if os.environ.get("PUCHA_UPDATE_SCREENSHOTS"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        for name in ("basic-info-selected.png", "basic-info-duplicates.png"):
            shutil.copy(tmp_path / name, DOCS_IMAGES / name)
