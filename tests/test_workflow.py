"""The workflow engine, driven through a throwaway model and a throwaway plugin.

The model mimics a form: owned by the importing unit (``scope_path``), sitting at a holder
(``holder_path``), moving up the chain county → city → province and completing at level 1.
"""

import pytest
from flask_appbuilder import Model
from sqlalchemy import Column, Integer, String, func, select
from sqlalchemy.orm import sessionmaker

from app import hookimpl
from app.audit import AuditEvent
from app.orgs.models import Org
from app.workflow import engine
from app.workflow.engine import (ConcurrentChange, NotAllowed, NotFound, ReasonRequired,
                                 Transition, Workflow, WorkflowError)
from tests.conftest import base_overrides
from tests.support.scope import make_admin, make_unitless
from tests.support.statements import StatementCounter


class WfItem(Model):
    __tablename__ = "test_wf_item"

    id = Column(Integer, primary_key=True)
    name = Column(String(50))
    scope_path = Column(String(128), nullable=False, index=True)
    holder_path = Column(String(128), nullable=False)
    stage = Column(String(16), nullable=False, default="draft")
    version = Column(Integer, nullable=False, default=1)


def _level(path):
    return path.count("/") - 2  # "/000000/" is level 0


def _parent_path(path):
    return path[: path.rstrip("/").rfind("/") + 1]


def _child_on_chain(holder_path, scope_path):
    """The unit one level below the holder on the form's chain (who sent it up)."""
    rest = scope_path[len(holder_path):]
    return holder_path + rest.split("/", 1)[0] + "/"


def _holds(row, org):
    return org is not None and row.holder_path == org.path


def _up(row, org):
    if _level(row.holder_path) <= 1:
        return {"stage": "completed"}
    return {"stage": "pending", "holder_path": _parent_path(row.holder_path)}


WORKFLOW = Workflow(
    name="test_item",
    model=WfItem,
    object_type="test_item",
    stages={"draft": "未提交", "pending": "待审核", "returned": "已退回", "completed": "已办结"},
    transitions=(
        Transition("submit", "提交", ("draft", "returned"),
                   allowed=lambda row, org: _holds(row, org) and row.holder_path == row.scope_path,
                   effect=_up, bulk_label="全部提交"),
        Transition("approve", "审核", ("pending", "returned"),
                   allowed=lambda row, org: _holds(row, org) and row.holder_path != row.scope_path,
                   effect=_up, bulk_label="全部审核"),
        Transition("return", "退回", ("pending",),
                   allowed=lambda row, org: _holds(row, org) and row.holder_path != row.scope_path,
                   effect=lambda row, org: {
                       "stage": "returned",
                       "holder_path": _child_on_chain(row.holder_path, row.scope_path)},
                   reason_required=True),
    ),
)


class ThrowawayPlugin:
    """Registers WORKFLOW and records every after_transition call; may add a row or fail."""

    def __init__(self):
        self.calls = []
        self.add_row = False
        self.fail = False

    @hookimpl
    def register_workflows(self, register):
        register(WORKFLOW)

    @hookimpl
    def after_transition(self, workflow, transition, object_ids, actor, session):
        # What the hook can see proves it runs inside the transaction: the new stage is there.
        stages = dict(session.execute(
            select(WfItem.id, WfItem.stage).where(WfItem.id.in_(object_ids))).all())
        self.calls.append((workflow.name, transition.name, list(object_ids), actor, stages))
        if self.add_row:
            from app.audit import record

            record(session, "hook_mark", "test_item", object_ids[0], actor=actor)
        if self.fail:
            raise RuntimeError("hook failed")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, tmp_path):
    """The app on SQLite (the embedded default) and on PostgreSQL (production)."""
    from app.extensions import db
    from app.factory import create_app

    if request.param == "postgresql":
        url = request.getfixturevalue("pg_database")()
    else:
        url = f"sqlite:///{tmp_path / 'wf.db'}"
    application = create_app(base_overrides(url, tmp_path))
    with application.app_context():
        db.create_all()
        WfItem.__table__.create(db.engine, checkfirst=True)
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def plugin(app):
    from app import registry
    from app.plugins import get_plugin_manager

    pm = get_plugin_manager()
    p = ThrowawayPlugin()
    pm.register(p, name="throwaway-workflow")
    # The registry is collected once when the app is built: collect again with the plugin.
    registry.install(app, pm)
    yield p
    pm.unregister(name="throwaway-workflow")
    registry.install(app, pm)


@pytest.fixture
def session(app):
    from app.extensions import db

    return db.session


def _org(session, code, name, level, kind, parent=None):
    path = (parent.path if parent else "/") + code + "/"
    org = Org(code=code, name=name, level=level, kind=kind, parent=parent, path=path)
    session.add(org)
    return org


def _user(session, username, org):
    from app.accounts.models import PuchaUser

    user = PuchaUser(first_name=username, last_name="-", username=username,
                     email=f"{username}@example.cn", active=True, org=org)
    session.add(user)
    return user


@pytest.fixture
def tree(session):
    """国办 → 浙江省 → 杭州市 → 上城区 / 西湖区, with one account each, an administrator (by role)
    and a user with neither a unit nor the administrator role."""
    nat = _org(session, "000000", "国务院办公厅", 0, "national")
    zj = _org(session, "330000", "浙江省", 1, "province", nat)
    hz = _org(session, "330100", "杭州市", 2, "city", zj)
    sc = _org(session, "330102", "上城区", 3, "county", hz)
    xh = _org(session, "330106", "西湖区", 3, "county", hz)
    session.flush()
    users = {o.code: _user(session, f"u{o.code}", o) for o in (zj, hz, sc, xh)}
    session.commit()
    users["admin"] = make_admin(session, "admin")
    users["nobody"] = make_unitless(session, "nobody")
    return {"zj": zj, "hz": hz, "sc": sc, "xh": xh, "users": users}


def _items(session, owner, n=1, stage="draft", holder=None):
    items = [WfItem(name=f"网站{i}", scope_path=owner.path,
                    holder_path=(holder or owner).path, stage=stage, version=1)
             for i in range(n)]
    session.add_all(items)
    session.commit()
    return items


def _audit(session, object_id=None):
    stmt = select(AuditEvent).where(AuditEvent.object_type == "test_item")
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == str(object_id))
    return list(session.execute(stmt.order_by(AuditEvent.id)).scalars())


# --- registration --------------------------------------------------------------------------------

def test_get_workflow_by_name(plugin):
    assert engine.get_workflow("test_item") is WORKFLOW
    with pytest.raises(WorkflowError, match="未注册的流程"):
        engine.get_workflow("nope")


def test_unregistered_after_fixture(app):
    with pytest.raises(WorkflowError):
        engine.get_workflow("test_item")


# --- the chain -----------------------------------------------------------------------------------

def test_chain_to_completion(session, plugin, tree):
    (item,) = _items(session, tree["sc"])
    u = tree["users"]
    result = engine.apply_and_commit(session, "test_item", "submit", [item.id], u["330102"])
    assert result.ids == [item.id] and result.to_stages == {item.id: "pending"}
    assert (item.stage, item.holder_path, item.version) == ("pending", tree["hz"].path, 2)

    engine.apply_and_commit(session, WORKFLOW, "approve", [item.id], u["330100"])
    assert (item.stage, item.holder_path) == ("pending", tree["zj"].path)
    engine.apply_and_commit(session, WORKFLOW, "approve", [item.id], u["330000"])
    session.expire_all()
    assert (item.stage, item.version) == ("completed", 4)

    trail = _audit(session, item.id)
    assert [(a.action, a.from_stage, a.to_stage) for a in trail] == [
        ("submit", "draft", "pending"), ("approve", "pending", "pending"),
        ("approve", "pending", "completed")]
    assert [a.org_id for a in trail] == [tree["sc"].id, tree["hz"].id, tree["zj"].id]
    assert trail[0].actor_id == u["330102"].id and trail[0].actor_name == "u330102"
    assert trail[0].detail == {"holder_path": tree["hz"].path}


def test_forbidden_by_stage(session, plugin, tree):
    (item,) = _items(session, tree["sc"], stage="completed")
    with pytest.raises(NotAllowed, match="不适用于状态为「已办结」"):
        engine.apply(session, WORKFLOW, "submit", [item.id], tree["users"]["330102"])


def test_forbidden_by_unit(session, plugin, tree):
    (item,) = _items(session, tree["sc"])
    # The city sees the form (it is in its subtree) but does not hold it as importer.
    with pytest.raises(NotAllowed, match="本单位无权.*提交"):
        engine.apply(session, WORKFLOW, "submit", [item.id], tree["users"]["330100"])
    session.rollback()
    # The importer may not approve its own form.
    item.stage = "pending"
    session.commit()
    with pytest.raises(NotAllowed, match="审核"):
        engine.apply(session, WORKFLOW, "approve", [item.id], tree["users"]["330102"])


def test_refusal_writes_nothing(session, plugin, tree):
    ok, bad = _items(session, tree["sc"], 2)
    bad.stage = "completed"
    session.commit()
    with pytest.raises(NotAllowed):
        engine.apply(session, WORKFLOW, "submit", [ok.id, bad.id], tree["users"]["330102"])
    # Refusals happen before any write: committing now changes nothing.
    session.commit()
    session.expire_all()
    assert (ok.stage, ok.version) == ("draft", 1)
    assert _audit(session) == [] and plugin.calls == []


def test_skip_refused_for_bulk(session, plugin, tree):
    ok, bad = _items(session, tree["sc"], 2)
    bad.stage = "completed"
    session.commit()
    result = engine.apply_and_commit(session, WORKFLOW, "submit", [ok.id, bad.id],
                                     tree["users"]["330102"], skip_refused=True)
    assert result.ids == [ok.id] and list(result.skipped) == [bad.id]
    assert "已办结" in result.skipped[bad.id]


def test_reason_required(session, plugin, tree):
    (item,) = _items(session, tree["sc"], stage="pending", holder=tree["hz"])
    with pytest.raises(ReasonRequired, match="^退回必须填写原因$"):
        engine.apply(session, WORKFLOW, "return", [item.id], tree["users"]["330100"], reason="  ")
    engine.apply_and_commit(session, WORKFLOW, "return", [item.id], tree["users"]["330100"],
                            reason="联系电话格式不对")
    assert (item.stage, item.holder_path) == ("returned", tree["sc"].path)
    (event_,) = _audit(session, item.id)
    assert (event_.action, event_.reason) == ("return", "联系电话格式不对")


def test_out_of_scope_rows_are_invisible(session, plugin, tree):
    (mine,) = _items(session, tree["sc"])
    (theirs,) = _items(session, tree["xh"])
    sibling = tree["users"]["330106"]
    with pytest.raises(NotFound, match="未找到表单.*不在本单位管辖范围内"):
        engine.apply(session, WORKFLOW, "submit", [mine.id], sibling)
    # Same message for a row that does not exist at all: existence does not leak.
    with pytest.raises(NotFound) as missing:
        engine.apply(session, WORKFLOW, "submit", [999999], sibling)
    assert "999999" in str(missing.value)
    # A mixed request is refused as a whole.
    with pytest.raises(NotFound):
        engine.apply(session, WORKFLOW, "submit", [mine.id, theirs.id], sibling)
    session.rollback()
    engine.apply_and_commit(session, WORKFLOW, "submit", [theirs.id], sibling)
    assert theirs.stage == "pending"


def test_administrator_sees_everything(session, plugin, tree):
    (item,) = _items(session, tree["sc"], stage="pending", holder=tree["hz"])
    wf_admin = Workflow(
        name="admin_wf", model=WfItem, stages=WORKFLOW.stages,
        transitions=(Transition("reopen", "重新打开", ("pending",),
                                allowed=lambda row, org: org is None,
                                effect=lambda row, org: {"stage": "draft",
                                                         "holder_path": row.scope_path}),))
    engine.apply_and_commit(session, wf_admin, "reopen", [item.id], tree["users"]["admin"])
    assert item.stage == "draft"
    # object_type defaults to the workflow's name; the administrator acts for no unit.
    assert _audit(session) == []
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.object_type == "admin_wf")) == 1


def test_no_actor_is_refused(session, plugin, tree):
    (item,) = _items(session, tree["sc"])
    with pytest.raises(NotAllowed, match="请先登录"):
        engine.apply(session, WORKFLOW, "submit", [item.id], None)


@pytest.mark.parametrize("roles", [[], ["组织单位"], ["Public"]])
def test_a_user_without_unit_or_admin_role_is_refused(session, plugin, tree, roles):
    """No unit does not make an administrator: such a user acts on nothing, not on everything."""
    (item,) = _items(session, tree["sc"], stage="pending", holder=tree["hz"])
    nobody = make_unitless(session, f"nobody{len(roles)}{''.join(roles)}", roles=roles)
    wf_admin = Workflow(
        name="admin_wf2", model=WfItem, stages=WORKFLOW.stages,
        transitions=(Transition("reopen", "重新打开", ("pending",),
                                allowed=lambda row, org: org is None,
                                effect=lambda row, org: {"stage": "draft"}),))
    with pytest.raises(NotAllowed, match="既不属于任何组织单位，也不是系统管理员"):
        engine.apply(session, wf_admin, "reopen", [item.id], nobody)
    assert engine.available_transitions(wf_admin, item, nobody) == []
    assert engine.available_transitions(wf_admin, item, tree["users"]["admin"]) == [
        wf_admin.transitions[0]]
    session.expire_all()
    assert item.stage == "pending"
    assert _audit(session) == []


def test_unknown_transition(session, plugin, tree):
    with pytest.raises(WorkflowError, match="没有操作"):
        engine.apply(session, WORKFLOW, "explode", [1], tree["users"]["330102"])


def test_available_transitions(session, plugin, tree):
    (item,) = _items(session, tree["sc"], stage="pending", holder=tree["hz"])
    names = lambda org: [t.name for t in engine.available_transitions("test_item", item, org)]  # noqa: E731
    assert names(tree["hz"]) == ["approve", "return"]
    assert names(tree["sc"]) == []
    assert names(tree["zj"]) == []
    item.stage, item.holder_path = "draft", tree["sc"].path
    assert names(tree["sc"]) == ["submit"]


# --- the hook and the transaction ------------------------------------------------------------

def test_after_transition_gets_ids_inside_the_transaction(session, plugin, tree):
    items = _items(session, tree["sc"], 3)
    ids = [i.id for i in items]
    plugin.add_row = True
    actor = tree["users"]["330102"]
    engine.apply_and_commit(session, WORKFLOW, "submit", list(reversed(ids)), actor)
    ((wf, tr, got_ids, got_actor, stages),) = plugin.calls
    assert (wf, tr, got_ids, got_actor) == ("test_item", "submit", sorted(ids), actor)
    assert set(stages.values()) == {"pending"}  # the hook saw the update, uncommitted
    # Its row was committed together with the change.
    other = sessionmaker(bind=session.get_bind())()
    assert other.scalar(select(func.count()).select_from(AuditEvent)
                        .where(AuditEvent.action == "hook_mark")) == 1
    other.close()


def test_failing_hook_commits_nothing(session, plugin, tree):
    (item,) = _items(session, tree["sc"])
    plugin.add_row, plugin.fail = True, True
    with pytest.raises(RuntimeError, match="hook failed"):
        engine.apply_and_commit(session, WORKFLOW, "submit", [item.id], tree["users"]["330102"])
    session.expire_all()
    assert (item.stage, item.version) == ("draft", 1)
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0


# --- concurrency ---------------------------------------------------------------------------------

def test_expected_version_refuses_a_stale_form(session, plugin, tree):
    (item,) = _items(session, tree["sc"], stage="pending", holder=tree["hz"])
    shown_version = item.version
    # Another session (another unit's request) returns the form first.
    other = sessionmaker(bind=session.get_bind())()
    engine.apply_and_commit(other, WORKFLOW, "return", [item.id],
                            other.get(type(tree["users"]["330100"]), tree["users"]["330100"].id),
                            reason="请补充栏目")
    other.close()
    with pytest.raises(ConcurrentChange, match="^表单已被其他单位处理，请刷新后重试$"):
        engine.apply(session, WORKFLOW, "approve", [item.id], tree["users"]["330100"],
                     expected_versions={item.id: shown_version})


def test_lost_update_is_detected_by_the_version(session, plugin, tree):
    """Session B reads the row, session A changes and commits it, then B writes: B must fail."""
    (item,) = _items(session, tree["sc"], stage="pending", holder=tree["hz"])
    engine_ = session.get_bind()
    raced = []

    def racing_effect(row, org):
        # Runs after B loaded and checked the row, before B's UPDATE: the worst moment.
        if not raced:
            raced.append(True)
            a = sessionmaker(bind=engine_)()
            actor_a = a.get(type(tree["users"]["330100"]), tree["users"]["330100"].id)
            engine.apply_and_commit(a, WORKFLOW, "approve", [row.id], actor_a)
            a.close()
        return {"stage": "returned", "holder_path": row.scope_path}

    racing = Workflow(name="test_item", model=WfItem, stages=WORKFLOW.stages, transitions=(
        Transition("return", "退回", ("pending",), allowed=WORKFLOW.transition("return").allowed,
                   effect=racing_effect, reason_required=True),))
    with pytest.raises(ConcurrentChange):
        engine.apply_and_commit(session, racing, "return", [item.id], tree["users"]["330100"],
                                reason="迟到的退回")
    session.expire_all()
    # A's approval stands, B left no trace.
    assert (item.stage, item.holder_path, item.version) == ("pending", tree["zj"].path, 2)
    assert [a.action for a in _audit(session, item.id)] == ["approve"]


# --- set-based bulk ------------------------------------------------------------------------------

def _bulk(session, tree, n):
    items = _items(session, tree["sc"], n, stage="pending", holder=tree["hz"])
    ids = [i.id for i in items]
    del items
    actor = tree["users"]["330100"]
    # A request has the user and its unit loaded already; keep those loads out of the count.
    actor.org.path
    with StatementCounter(session.get_bind()) as counter:
        result = engine.apply(session, WORKFLOW, "approve", ids, actor)
        session.commit()
    assert result.count == n
    return counter.statements


def test_bulk_is_set_based_with_constant_statements(session, plugin, tree):
    small = _bulk(session, tree, 10)
    session.execute(WfItem.__table__.delete())
    session.commit()
    big = _bulk(session, tree, 5000)
    # The statement count proves the work is set-based; the time is bench/run.py's budget
    # (docs/performance.md), not a bound a loaded CI machine could miss.
    assert len(big) == len(small) <= 4, " | ".join(" ".join(s.split()[:2]) for s in big)
    assert session.scalar(select(func.count()).select_from(WfItem)
                          .where(WfItem.holder_path == tree["zj"].path, WfItem.version == 2)) == 5000
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "approve")) == 5010


def test_cli_lists_workflows(app, plugin):
    result = app.test_cli_runner().invoke(args=["pucha", "workflows"])
    assert result.exit_code == 0, result.output
    assert "流程 test_item" in result.output
    assert "return「退回」：pending → …（须填写原因）" in result.output


# --- the set-based write against the per-row one it replaced --------------------------------------

def _per_row_write(session, workflow, name, ids, actor, reason=None):
    """What ``apply`` wrote before it was set-based: one UPDATE executemany with each row's read
    version and one audit row per form built by ``audit_values`` (kept here as the reference)."""
    from sqlalchemy import bindparam, update

    from app.audit import audit_values, record_many

    transition = workflow.transition(name)
    org = actor.org
    model = workflow.model
    rows = session.execute(select(model).where(model.id.in_(ids)).order_by(model.id)).scalars().all()
    changes = []
    for row in rows:
        change = dict(transition.effect(row, org))
        if transition.reason_column and reason:
            change[transition.reason_column] = reason
        changes.append(change)
    keys = sorted(set().union(*changes))
    stmt = (update(model.__table__)
            .where(model.id == bindparam("w_id"), model.version == bindparam("w_version"))
            .values({key: bindparam(f"v_{key}") for key in keys})
            .values(version=model.version + 1))
    params = [dict({"w_id": row.id, "w_version": row.version},
                   **{f"v_{key}": change.get(key, getattr(row, key)) for key in keys})
              for row, change in zip(rows, changes)]
    audit = []
    for row, change in zip(rows, changes):
        detail = {k: v for k, v in change.items() if k != "stage"} or None
        values = audit_values(name, workflow.object_type, row.id, actor=actor, org_id=org.id,
                              from_stage=row.stage, to_stage=change["stage"], reason=reason,
                              detail=detail)
        values["scope_path"] = org.path
        audit.append(values)
    assert session.execute(stmt, params).rowcount == len(rows)
    record_many(session, audit)
    session.commit()


@pytest.mark.parametrize("name, reason", [("approve", None), ("return", "请补充栏目")])
def test_set_based_write_matches_the_per_row_write(session, plugin, tree, monkeypatch, name,
                                                   reason):
    """Two identical batches (pending and returned forms, several versions), one through
    ``apply`` and one through the per-row write it replaced: the same rows and, row by row, the
    same audit trail."""
    import datetime

    from app import clock

    moment = datetime.datetime(2026, 5, 4, 3, 2, 1, 123456)
    monkeypatch.setattr(clock, "now", lambda: moment)
    workflow = Workflow(
        name="test_item", model=WfItem, object_type="test_item", stages=WORKFLOW.stages,
        reads=("scope_path", "holder_path"),
        transitions=(WORKFLOW.transition("approve"),
                     Transition("return", "退回", ("pending", "returned"),
                                allowed=WORKFLOW.transition("return").allowed,
                                effect=WORKFLOW.transition("return").effect,
                                reason_required=True, reason_column="name")))
    batches = []
    for _ in range(2):
        items = (_items(session, tree["sc"], 4, stage="pending", holder=tree["hz"])
                 + _items(session, tree["xh"], 3, stage="returned", holder=tree["hz"]))
        for item, version in zip(items, (1, 2, 3, 1, 5, 1, 2)):
            item.version = version
        session.commit()
        batches.append([item.id for item in items])
    actor = tree["users"]["330100"]
    result = engine.apply_and_commit(session, workflow, name, batches[0], actor, reason=reason)
    assert result.ids == batches[0]
    _per_row_write(session, workflow, name, batches[1], actor, reason=reason)
    session.expire_all()

    def state(ids):
        forms = {i.id: i for i in session.scalars(select(WfItem).where(WfItem.id.in_(ids)))}
        trail = {int(a.object_id): a for a in _audit(session) if int(a.object_id) in forms}
        columns = [c.key for c in AuditEvent.__table__.columns if c.key not in ("id", "object_id")]
        return [((forms[i].stage, forms[i].holder_path, forms[i].version, forms[i].name),
                 {c: getattr(trail[i], c) for c in columns}) for i in ids]

    new, old = state(batches[0]), state(batches[1])
    assert new == old
    assert {audit["from_stage"] for _, audit in new} == {"pending", "returned"}


@pytest.mark.parametrize("effect, message", [
    (lambda row, org: {"holder_path": row.scope_path}, "效果缺少 stage"),
    (lambda row, org: {"stage": "draft", "version": 7}, "效果含有无效字段：version"),
    (lambda row, org: {"stage": "draft", "colour": "red"}, "效果含有无效字段：colour"),
])
def test_a_malformed_effect_is_refused_before_anything_is_written(session, plugin, tree, effect,
                                                                  message):
    items = _items(session, tree["sc"], 3, stage="pending", holder=tree["hz"])
    broken = Workflow(name="test_item", model=WfItem, stages=WORKFLOW.stages, transitions=(
        Transition("reopen", "重新打开", ("pending",), allowed=lambda row, org: True,
                   effect=effect),))
    with pytest.raises(WorkflowError, match=message):
        engine.apply_and_commit(session, broken, "reopen", [i.id for i in items],
                                tree["users"]["330100"])
    session.expire_all()
    assert {(i.stage, i.version) for i in items} == {("pending", 1)}
    assert _audit(session) == []


def test_one_action_happens_at_one_instant():
    """Inside ``clock.one_instant()`` every reading is the same moment (nested blocks keep the
    outer one), so effects that stamp the time leave a bulk action's rows alike."""
    import time

    from app import clock

    with clock.one_instant():
        first = clock.now()
        time.sleep(0.002)
        with clock.one_instant():
            assert clock.now() == first
        assert clock.now() == first
    time.sleep(0.002)
    assert clock.now() > first
