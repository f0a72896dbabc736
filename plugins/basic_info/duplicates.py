"""重复网站: the websites with more than one form in the viewer's subtree (one website, one code:
docs/basic-info.md), so an organising unit sees the duplicates it must resolve.

Every query goes through the org scope (``scope_clause``); a page lists at most ``PAGE_SIZE``
websites and at most ``FORMS_PER_SITE`` forms of each (the rest are counted), whatever the data
holds. GET only: the page changes nothing.
"""
import math
import os

from flask import current_app, request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.orgs.models import Org
from app.orgs.scope import current_viewer, scope_clause
from plugins.basic_info import workflow as review
from plugins.basic_info.identity import unit_names
from plugins.basic_info.models import BasicInfoForm

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
PAGE_SIZE = 20
FORMS_PER_SITE = 20


def duplicate_sites(session, viewer, page=1, page_size=PAGE_SIZE):
    """One page of the websites with more than one form that ``viewer`` sees: (sites, total
    websites, pages, page). Each site is {key, count, forms: [...], more}."""
    scope = scope_clause(BasicInfoForm, viewer)
    groups = (select(BasicInfoForm.site_key, func.count().label("forms"))
              .where(scope, BasicInfoForm.site_key.is_not(None))
              .group_by(BasicInfoForm.site_key).having(func.count() > 1))
    total = session.scalar(select(func.count()).select_from(groups.subquery())) or 0
    pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), pages)
    counts = dict(session.execute(groups.order_by(BasicInfoForm.site_key)
                                  .limit(page_size).offset((page - 1) * page_size)).all())
    if not counts:
        return [], total, pages, page
    ranked = (select(BasicInfoForm.id, BasicInfoForm.site_key, BasicInfoForm.site_name,
                     BasicInfoForm.home_url, BasicInfoForm.site_code, BasicInfoForm.stage,
                     BasicInfoForm.holder_path, Org.name.label("importer_name"),
                     Org.code.label("importer_code"),
                     func.row_number().over(partition_by=BasicInfoForm.site_key,
                                            order_by=BasicInfoForm.id).label("n"))
              .join(Org, Org.id == BasicInfoForm.importer_id)
              .where(scope, BasicInfoForm.site_key.in_(list(counts))).subquery())
    rows = session.execute(select(ranked).where(ranked.c.n <= FORMS_PER_SITE)
                           .order_by(ranked.c.site_key, ranked.c.id)).all()
    holders = unit_names(session, [r.holder_path for r in rows])
    sites = {key: {"key": key, "count": count, "forms": [], "more": max(0, count - FORMS_PER_SITE)}
             for key, count in counts.items()}
    for row in rows:
        holder = holders.get(row.holder_path, ("", ""))
        sites[row.site_key]["forms"].append({
            "id": row.id, "site_name": row.site_name, "home_url": row.home_url,
            "site_code": row.site_code or "", "importer": f"{row.importer_name}（{row.importer_code}）",
            "holder": f"{holder[0]}（{holder[1]}）" if holder[0] else "",
            "status": review.status_for(row, viewer.path),
        })
    return [sites[key] for key in sorted(sites)], total, pages, page


def _page_arg():
    try:
        return max(1, min(int(request.args.get("page", 1)), 10 ** 6))
    except (TypeError, ValueError):
        return 1


class DuplicateSitesView(BaseView):
    """重复网站 under 普查表: read-only, scoped, paginated."""

    route_base = "/basic_info/duplicates"
    template_folder = TEMPLATES
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        viewer = current_viewer()
        sites, total, pages, page = duplicate_sites(current_app.appbuilder.session, viewer,
                                                    _page_arg())
        return self.render_template("basic_info/duplicates.html", title=_l("重复网站"),
                                    sites=sites, total=total, pages=pages, page=page)


def register(appbuilder):
    appbuilder.add_view(DuplicateSitesView, "重复网站", icon="fa-clone", label=_l("重复网站"),
                        category="普查表")
