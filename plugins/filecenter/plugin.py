"""filecenter: 文件中心 and 技术支持中心 — hook implementations only."""
from pathlib import Path

from app import hookimpl
from plugins.filecenter import generators, models, views  # noqa: F401 - models: the tables exist


@hookimpl
def register_migrations(register):
    register("filecenter", Path(__file__).resolve().parent / "migrations")


@hookimpl
def register_views(appbuilder):
    views.register(appbuilder)


@hookimpl
def public_links():
    return views.public_links()


@hookimpl
def filler_release(session):
    return views.filler_release(session)


@hookimpl
def register_file_generators(register):
    register(generators.ACCOUNT_TABLE)
