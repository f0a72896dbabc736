"""The demo data set (plugins/basic_info/demo.py) for tests: loaded into a test's database or a
live server's, through the demo's public ``load`` only.

``demo`` is a fixture: a module uses it with ``from tests.support.demo import demo`` (the import
is what pytest sees).
"""
import pytest
from sqlalchemy import select


def load_demo(app):
    """Load the demo forms into ``app``'s database (the ``prepare`` of a live server)."""
    from app.extensions import db
    from plugins.basic_info import demo as demo_module

    assert demo_module.load(db.session, echo=lambda *a, **k: None)


@pytest.fixture
def demo(session):
    """The demo forms loaded into this test's national database, by site name."""
    from plugins.basic_info import demo as demo_module
    from plugins.basic_info.models import BasicInfoForm

    demo_module.load(session, lambda *_: None)
    return {f.site_name: f for f in session.execute(select(BasicInfoForm)).scalars()}
