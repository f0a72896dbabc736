"""Initial passwords and the password policy."""
import string
from types import SimpleNamespace

import pytest

from app.accounts.passwords import (
    ALPHABET,
    CONFUSABLE,
    generate_initial_password,
    hash_password,
    password_problems,
    verify_password,
)


def test_alphabet_has_no_confusable_characters():
    assert CONFUSABLE == set("0Oo1lI")
    assert not CONFUSABLE & set(ALPHABET)
    assert set(ALPHABET) <= set(string.ascii_letters + string.digits)


def test_generated_passwords_property():
    seen = set()
    for _ in range(5000):
        password = generate_initial_password()
        assert len(password) == 10  # INITIAL_PASSWORD_LENGTH default
        assert not CONFUSABLE & set(password), password
        assert set(password) <= set(ALPHABET)
        assert any(c.isalpha() for c in password) and any(c.isdigit() for c in password)
        seen.add(password)
    assert len(seen) == 5000  # random, not a handful of constants


@pytest.mark.parametrize("length", [1, 4, 7, 8, 12, 32])
def test_length_is_at_least_eight(length):
    for _ in range(200):
        password = generate_initial_password(length)
        assert len(password) == max(length, 8)
        assert any(c.isalpha() for c in password) and any(c.isdigit() for c in password)


def test_length_comes_from_config(tmp_path):
    from flask import Flask

    app = Flask(__name__)
    app.config["INITIAL_PASSWORD_LENGTH"] = 14
    with app.app_context():
        assert len(generate_initial_password()) == 14
    app.config["INITIAL_PASSWORD_LENGTH"] = 3  # a misconfiguration still yields 8
    with app.app_context():
        assert len(generate_initial_password()) == 8


def _user(initial=None, password=None):
    return SimpleNamespace(initial_password=initial, password=password)


def test_problems_in_chinese():
    assert password_problems("Abcdefg2") == []
    assert password_problems("Ab2") == ["密码长度不能少于 8 位"]
    assert password_problems("abcdefgh") == ["密码必须同时包含字母和数字"]
    assert password_problems("12345678") == ["密码必须同时包含字母和数字"]
    assert password_problems("") == ["密码长度不能少于 8 位", "密码必须同时包含字母和数字"]
    assert "密码不能包含空格" in password_problems("abcd 1234")
    # Full-width digits or letters do not count as the required ASCII letters and digits.
    assert password_problems("密码密码密码１２３") == ["密码必须同时包含字母和数字"]


def test_new_password_must_differ_from_initial_and_current():
    assert password_problems("Chushi2345", _user(initial="Chushi2345")) == [
        "新密码不能与初始密码相同"]
    current = _user(password=hash_password("Dangqian234"))
    assert password_problems("Dangqian234", current) == ["新密码不能与当前密码相同"]
    assert password_problems("Xinde23456", current) == []


def test_min_length_from_config():
    from flask import Flask

    app = Flask(__name__)
    app.config["PASSWORD_MIN_LENGTH"] = 12
    with app.app_context():
        assert password_problems("Abcdefg2") == ["密码长度不能少于 12 位"]


def test_verify_initial_then_hash():
    initial = _user(initial="Chushi2345")
    assert verify_password(initial, "Chushi2345")
    assert not verify_password(initial, "chushi2345")
    assert not verify_password(initial, "")
    assert not verify_password(_user(), "anything1")  # no hash, no initial: nothing opens it
    hashed = _user(initial="Chushi2345", password=hash_password("Xinde23456"))
    # Once hashed, a leftover initial password must not open the account.
    assert not verify_password(hashed, "Chushi2345")
    assert verify_password(hashed, "Xinde23456")
    assert hash_password("Xinde23456").startswith("scrypt:")
