"""USCC (GB 32100-2015) and taxpayer numbers: docs/domain.md §2.2 vectors plus our own."""

from __future__ import annotations

import pytest

from idp.people.identity_documents import LocalizedValueError
from idp.taxpayers.taxpayer_numbers import (
    MESSAGES,
    USCC_ALPHABET,
    TaxpayerNumberError,
    check_uscc,
    normalise_taxpayer_number,
    normalise_uscc,
)


def with_uscc_check(body: str) -> str:
    """17 USCC characters + their check character, computed independently of the module."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    total = sum(alphabet.index(char) * weight for char, weight in zip(body, weights, strict=True))
    return body + alphabet[(31 - total % 31) % 31]


# (as typed, as stored). docs/domain.md §2.2 vectors first, then our own (letter-first included).
VALID_USCC = [
    ("91110000600037341L", "91110000600037341L"),
    ("91350100M000100Y43", "91350100M000100Y43"),
    ("9144030071526726XG", "9144030071526726XG"),
    ("Y1370200MA3C12346U", "Y1370200MA3C12346U"),
    ("A1110000MA01ABCD2P", "A1110000MA01ABCD2P"),
    ("N2440300MA5F00001R", "N2440300MA5F00001R"),
    ("12100000400000624D", "12100000400000624D"),
    ("9111 0000 6000 3734 1l", "91110000600037341L"),
    ("９１１１００００６０００３７３４１Ｌ", "91110000600037341L"),  # full-width input
    (with_uscc_check("52110000MJ0000001"), with_uscc_check("52110000MJ0000001")),
]

INVALID_USCC = [
    ("91110000600037341N", "check_digit"),
    ("91310115MA1H8R7C6D", "check_digit"),
    ("9111000060003IOZSV", "characters"),
    ("Y1370200MA3C12346T", "check_digit"),
    ("Y1370200MA3C12346V", "characters"),  # V is not in the USCC alphabet
    ("91350100M000100Y4-", "characters"),
    ("91110000600037341", "length"),
    ("91110000600037341LL", "length"),
    ("", "empty"),
    (" ", "empty"),
]


@pytest.mark.parametrize(("typed", "stored"), VALID_USCC)
def test_valid_uscc_is_normalised_to_its_stored_form(typed: str, stored: str) -> None:
    assert normalise_uscc(typed) == stored
    assert check_uscc(stored)


@pytest.mark.parametrize(("typed", "code"), INVALID_USCC)
def test_invalid_uscc_is_refused_with_its_reason(typed: str, code: str) -> None:
    with pytest.raises(TaxpayerNumberError) as refused:
        normalise_uscc(typed)
    assert refused.value.code == code
    assert refused.value.subject == "uscc"


@pytest.mark.parametrize(("typed", "code"), INVALID_USCC)
def test_uscc_refusal_reads_in_chinese_and_english(typed: str, code: str) -> None:
    with pytest.raises(TaxpayerNumberError) as refused:
        normalise_uscc(typed)
    chinese, english = refused.value.message("zh-CN"), refused.value.message("en")
    assert chinese and english and chinese != english
    assert "统一社会信用代码" in chinese
    assert "unified social credit code" in english


def test_uscc_with_a_letter_first_is_accepted() -> None:
    assert normalise_uscc("Y1370200MA3C12346U") == "Y1370200MA3C12346U"


def test_uscc_alphabet_has_no_letters_that_read_as_digits() -> None:
    assert len(USCC_ALPHABET) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)


VALID_TAXPAYER_NUMBERS = [
    ("91110000600037341L", "91110000600037341L"),  # a USCC
    ("Y1370200MA3C12346U", "Y1370200MA3C12346U"),
    ("11010519491231002x", "11010519491231002X"),  # a natural person's ID card number
    ("11010519491231002X01", "11010519491231002X01"),  # ID card + 2-digit sequence
    ("44052418800101001402", "44052418800101001402"),
    ("81000019900101001901", "81000019900101001901"),  # residence permit + sequence
    ("11010549123100201", "11010549123100201"),  # 15-digit first-generation ID card + sequence
    ("110108600037341", "110108600037341"),  # area code + organisation code
    ("440300MA5EXYZ01", "440300MA5EXYZ01"),
    ("110105491231002", "110105491231002"),  # a 15-digit first-generation ID card
    ("L11010519491231002X", "L11010519491231002X"),  # temporary taxpayer
    ("l 110108600037341", "L110108600037341"),
    ("L123456", "L123456"),
]

INVALID_TAXPAYER_NUMBERS = [
    ("", "empty"),
    ("1234", "length"),
    ("9111000060003734100", "length"),
    ("9111000060003734-L", "characters"),
    ("91110000600037341N", "check_digit"),  # neither a USCC nor an ID card number
    ("9111000060003IOZSV", "characters"),
    ("110105194912310021", "check_digit"),
    ("11010519491231002101", "check_digit"),  # the ID card part should end in X
    ("1101051949123100AB01", "format"),
    ("11010519491231002X0A", "format"),
    ("1101054912310020A", "format"),
    ("11010A600037341", "format"),
    ("L12", "length"),
    ("L" + "1" * 21, "length"),
]


@pytest.mark.parametrize(("typed", "stored"), VALID_TAXPAYER_NUMBERS)
def test_valid_taxpayer_number_is_normalised_to_its_stored_form(typed: str, stored: str) -> None:
    assert normalise_taxpayer_number(typed) == stored


@pytest.mark.parametrize(("typed", "code"), INVALID_TAXPAYER_NUMBERS)
def test_invalid_taxpayer_number_is_refused_with_its_reason(typed: str, code: str) -> None:
    with pytest.raises(TaxpayerNumberError) as refused:
        normalise_taxpayer_number(typed)
    assert refused.value.code == code
    chinese, english = refused.value.message("zh-CN"), refused.value.message("en")
    assert chinese and english and chinese != english
    assert "纳税人识别号" in chinese


@pytest.mark.parametrize(("typed", "stored"), VALID_USCC)
def test_every_valid_uscc_is_a_valid_taxpayer_number(typed: str, stored: str) -> None:
    assert normalise_taxpayer_number(typed) == stored


@pytest.mark.parametrize("code", sorted(MESSAGES))
@pytest.mark.parametrize("subject", ["uscc", "taxpayer_number"])
def test_every_error_code_has_distinct_chinese_and_english_messages(code: str, subject: str) -> None:
    error = TaxpayerNumberError(code, subject)
    assert error.message("zh-CN") and error.message("en")
    assert error.message("zh-CN") != error.message("en")
    assert error.message() == error.message("zh-CN")


def test_taxpayer_error_shares_the_localized_error_base() -> None:
    assert issubclass(TaxpayerNumberError, LocalizedValueError)
    assert issubclass(TaxpayerNumberError, ValueError)
