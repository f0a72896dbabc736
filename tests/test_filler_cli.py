"""The headless commands: python -m filler --version | validate | pack | import-excel | excel-template |
export-excel."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.forms.package import read_package
from filler import __version__
from filler.core.store import FormStore
from plugins.basic_info.schema import SCHEMA, example_form

REPO = Path(__file__).resolve().parents[1]


def run(tmp_path, *args):
    env = dict(os.environ, PUCHA_FILLER_HOME=str(tmp_path / "home"), PYTHONIOENCODING="utf-8")
    env.pop("DISPLAY", None)  # headless means headless
    return subprocess.run([sys.executable, "-m", "filler", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


@pytest.fixture
def data(tmp_path):
    store = FormStore(tmp_path / "data", SCHEMA).ensure()
    good = [store.add_document(example_form(variant=i)).uuid for i in range(2)]
    bad_doc = example_form(variant=2)
    bad_doc["fields"]["contact_email"] = "zhaomin#hzsc.gov.cn"
    bad = store.add_document(bad_doc).uuid
    return store, good, bad


def test_version(tmp_path):
    out = run(tmp_path, "--version")
    assert out.returncode == 0
    assert __version__ in out.stdout and "填报客户端" in out.stdout


def test_validate_a_data_folder_a_form_file_and_a_package(tmp_path, data):
    store, good, bad = data
    out = run(tmp_path, "validate", str(store.root))
    assert out.returncode == 1
    assert "共 3 份表单：2 份通过，1 份未通过" in out.stdout
    assert "联系人电子邮箱应为规范的电子邮箱地址" in out.stdout
    out = run(tmp_path, "validate", str(store.path_for(good[0])))
    assert out.returncode == 0 and "[通过]" in out.stdout

    assert run(tmp_path, "--data-dir", str(store.root), "pack", "--out", str(tmp_path / "p.zip"), *good).returncode == 0
    out = run(tmp_path, "validate", str(tmp_path / "p.zip"))
    assert out.returncode == 0 and "共 2 份表单：2 份通过" in out.stdout
    damaged = bytearray((tmp_path / "p.zip").read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "damaged.zip").write_bytes(bytes(damaged))
    out = run(tmp_path, "validate", str(tmp_path / "damaged.zip"))
    assert out.returncode == 1 and "上报文件无法导入" in out.stdout
    assert run(tmp_path, "validate", str(tmp_path / "nowhere")).returncode == 2


def test_pack_all_some_and_refused(tmp_path, data):
    store, good, bad = data
    out = run(tmp_path, "--data-dir", str(store.root), "pack", "--out", str(tmp_path / "all.zip"))
    assert out.returncode == 1  # something was refused
    assert "2 份表单" in out.stdout and "1 份表单未通过校验" in out.stdout
    assert "杭州市上城区教育局：联系人电子邮箱应为" in out.stdout
    assert sorted(read_package(tmp_path / "all.zip").files) == sorted(good)

    # By UUID prefix and by form file path.
    out = run(tmp_path, "--data-dir", str(store.root), "pack", "--out", str(tmp_path / "one.zip"),
              good[0][:8], str(store.path_for(good[1])))
    assert out.returncode == 0, out.stderr
    assert sorted(read_package(tmp_path / "one.zip").files) == sorted(good)

    out = run(tmp_path, "--data-dir", str(store.root), "pack", "--out", str(tmp_path / "none.zip"), bad)
    assert out.returncode == 2 and "都未通过校验" in out.stderr
    assert not (tmp_path / "none.zip").exists()
    out = run(tmp_path, "--data-dir", str(store.root), "pack", "--out", str(tmp_path / "x.zip"), "ffffffff")
    assert out.returncode == 2 and "找不到表单" in out.stderr


def test_excel_template_and_import(tmp_path):
    from tests.test_filler_core import fill_template

    template = tmp_path / "模板.xlsx"
    out = run(tmp_path, "excel-template", str(template))
    assert out.returncode == 0 and template.exists()
    fill_template(template, [example_form(variant=i) for i in range(3)])
    data_dir = tmp_path / "data"
    out = run(tmp_path, "--data-dir", str(data_dir), "import-excel", str(template))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "已导入 3 个网站" in out.stdout and "新建 3 份" in out.stdout
    assert len(FormStore(data_dir, SCHEMA).uuids()) == 3
    out = run(tmp_path, "--data-dir", str(data_dir), "list")
    assert "杭州市上城区人民政府" in out.stdout and "通过" in out.stdout

    broken = tmp_path / "错.xlsx"
    run(tmp_path, "excel-template", str(broken))
    doc = example_form()
    doc["fields"]["principal_email"] = "两个@a.cn;b@c.cn"
    fill_template(broken, [doc])
    out = run(tmp_path, "--data-dir", str(tmp_path / "d2"), "import-excel", str(broken))
    assert out.returncode == 1
    assert "未导入任何表单" in out.stdout and "「网站基本信息」第 2 行：负责人电子邮箱只能填写一个邮箱地址" in out.stdout


def test_export_excel_and_import_only_the_valid_rows(tmp_path, data):
    from openpyxl import load_workbook

    store, good, bad = data
    _data_dir = store.root
    sheet = tmp_path / "导出.xlsx"
    out = run(tmp_path, "--data-dir", str(_data_dir), "export-excel", str(sheet))
    assert out.returncode == 0 and "已导出 3 份表单" in out.stdout, out.stdout + out.stderr
    wb = load_workbook(sheet)
    ws = wb["网站基本信息"]
    headers = [c.value for c in ws[1]]
    rows = {r[-1].value: r[0].row for r in ws.iter_rows(min_row=2) if r[0].value}
    assert set(rows) == set(good + [bad])
    ws.cell(row=rows[good[0]], column=headers.index("办公地址") + 1, value="无")
    wb.save(sheet)

    # The bad form's row still has its wrong e-mail: by default nothing is imported.
    out = run(tmp_path, "--data-dir", str(_data_dir), "import-excel", str(sheet))
    assert out.returncode == 1 and "未导入任何表单" in out.stdout
    assert f"「网站基本信息」第 {rows[bad]} 行：联系人电子邮箱" in out.stdout
    out = run(tmp_path, "--data-dir", str(_data_dir), "import-excel", "--only-valid", str(sheet))
    assert out.returncode == 1, out.stdout + out.stderr
    assert "已导入 2 个网站（更新 1 份，内容未变 1 份）" in out.stdout
    assert f"序号 {rows[bad] - 1}（第 {rows[bad]} 行）" in out.stdout
    assert store.load(good[0]).document["fields"]["office_address"] == "无"
    assert sorted(store.uuids()) == sorted(good + [bad])


def test_data_dir_setting(tmp_path):
    target = tmp_path / "新的数据目录"
    out = run(tmp_path, "data-dir", str(target))
    assert out.returncode == 0 and str(target) in out.stdout
    assert (target / "forms").is_dir()
    assert str(target) in run(tmp_path, "data-dir").stdout
