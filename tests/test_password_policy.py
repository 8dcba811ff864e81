"""The personal password rule (docs/domain.md §6.2)."""

from __future__ import annotations

import pytest

from idp.people.password_policy import PasswordPolicyError, validate_password

DOC = "11010519491231002X"


@pytest.mark.parametrize("password", ["Abcdef12", "abc.def$", "12345678@", "Tax_2026-ok", "a1" * 8])
def test_passwords_meeting_the_rule_are_accepted(password):
    validate_password(password, doc_number=DOC)


@pytest.mark.parametrize("password,code", [
    ("Ab1.", "length"), ("Abcdefgh12345678x", "length"),
    ("abcdefgh", "kinds"), ("12345678", "kinds"), ("........", "kinds"),
    ("Abc def12", "characters"), ("密码Abc12345", "characters"), ("Abc12345!", "characters"),
    ("31002x", "length"), ("x11010519491231002X", "length"), ("Ab11010519491231002X", "length"),
])
def test_passwords_breaking_the_rule_name_the_rule(password, code):
    with pytest.raises(PasswordPolicyError) as caught:
        validate_password(password, doc_number=DOC)
    assert caught.value.code == code
    assert caught.value.message("zh-CN") != caught.value.message("en")


@pytest.mark.parametrize("doc_number", [DOC, "E12345678", "H12345678", "USA" + "L898902C3"])
def test_the_initial_password_is_never_accepted(doc_number):
    """docs/domain.md §1.8: the initial password (last six of the document) must be changed."""
    with pytest.raises(PasswordPolicyError) as caught:
        validate_password(doc_number[-6:], doc_number=doc_number)
    assert caught.value.code == "length"


def test_a_password_containing_the_document_number_is_refused():
    with pytest.raises(PasswordPolicyError) as caught:
        validate_password("E12345678a", doc_number="E12345678")
    assert caught.value.code == "document"
