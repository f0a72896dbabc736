"""Process-wide extension objects, bound to an app in app.factory.create_app."""
from flask_appbuilder.models.sqla.base import SQLA
from flask_mail import Mail

db = SQLA()
mail = Mail()
