"""Process-wide extension objects, bound to an app in app.factory.create_app."""
from flask_appbuilder import Model
from flask_appbuilder.models.sqla.base import SQLA
from flask_mail import Mail

# FAB's models (and ours, which derive from FAB's Model) live in Model.metadata; without sharing
# it, db.create_all() would see an empty metadata and new plugin tables would never be created.
db = SQLA(metadata=Model.metadata)
mail = Mail()
