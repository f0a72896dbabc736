"""Test helpers for accounts: give an org account a chosen password and log a client in."""
from werkzeug.security import generate_password_hash

KNOWN_PASSWORD = "Zhengque2026"


def set_known_password(session, username, password=KNOWN_PASSWORD):
    """Act as if the user had already replaced the initial password with ``password``."""
    from app.accounts.models import PuchaUser

    user = session.query(PuchaUser).filter_by(username=username).one()
    user.password = generate_password_hash(password)
    user.initial_password = None
    user.must_change_password = False
    session.commit()
    return user


def login(client, session, username, password=KNOWN_PASSWORD):
    set_known_password(session, username, password)
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return client
