"""Identity document numbers: docs/domain.md §3 vectors plus our own, with real check digits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from idp.people.identity_documents import (
    DOCUMENT_TYPES,
    MESSAGES,
    DocumentNumberError,
    LocalizedValueError,
    check_icao_7_3_1,
    check_mod11_2,
    initial_password,
    mask_document_number,
    mask_phone,
    normalise_document_number,
    normalise_issuing_country,
)


def with_mod11_2_check(body: str) -> str:
    """17 digits + their GB 11643 check character, computed independently of the module."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


# (type, as typed, as stored). docs/domain.md §3.2 vectors first in each group, then our own.
VALID = [
    ("ID_CARD", "11010519491231002X", "11010519491231002X"),
    ("ID_CARD", "440524188001010014", "440524188001010014"),  # GB 11643 example, retired area code
    ("ID_CARD", "11010519491231002x", "11010519491231002X"),
    ("ID_CARD", " 1101 0519 4912 3100 2X ", "11010519491231002X"),
    ("ID_CARD", "１１０１０５１９４９１２３１００２ｘ", "11010519491231002X"),  # full-width input
    ("ID_CARD", "110101180001010015", "110101180001010015"),  # 1800-01-01, the earliest date
    ("ID_CARD", "440304200002291236", "440304200002291236"),  # 29 February of a leap year
    ("ID_CARD", "650102199912311232", "650102199912311232"),
    ("HKMO_PERMIT", "H12345678", "H12345678"),
    ("HKMO_PERMIT", "M1234567801", "M12345678"),
    ("HKMO_PERMIT", "h 1234 5678", "H12345678"),
    ("HKMO_PERMIT", "M87654321", "M87654321"),
    ("HKMO_PERMIT", "H0000000199", "H00000001"),
    ("TW_PERMIT", "12345678", "12345678"),
    ("TW_PERMIT", "1234567800", "12345678"),
    ("TW_PERMIT", "87654321", "87654321"),
    ("TW_PERMIT", "1234567800(B)", "12345678"),
    ("TW_PERMIT", "0123456789（a）", "01234567"),
    ("CN_PASSPORT", "E12345678", "E12345678"),
    ("CN_PASSPORT", "EF1260892", "EF1260892"),
    ("CN_PASSPORT", "e12345678", "E12345678"),
    ("CN_PASSPORT", "G12345678", "G12345678"),
    ("CN_PASSPORT", "DE1234567", "DE1234567"),
    ("CN_PASSPORT", "SE7654321", "SE7654321"),
    ("CN_PASSPORT", "PE0000001", "PE0000001"),
    ("CN_PASSPORT", "EA1234567", "EA1234567"),
    ("FOREIGN_PR", "911398199012310021", "911398199012310021"),
    ("FOREIGN_PR", "KAZ110090123105", "KAZ110090123105"),
    ("FOREIGN_PR", "944840198501010026", "944840198501010026"),
    ("FOREIGN_PR", "931392200002290013", "931392200002290013"),
    ("FOREIGN_PR", "usa310085070105", "USA310085070105"),
    ("FOREIGN_PR", "JPN440000010127", "JPN440000010127"),
    ("FOREIGN_PR", "GBR110075012317", "GBR110075012317"),
    ("HKMO_RESIDENCE", "810000199001010019", "810000199001010019"),
    ("HKMO_RESIDENCE", "820000198512310029", "820000198512310029"),
    ("HKMO_RESIDENCE", "81000019700101001x", "81000019700101001X"),
    ("HKMO_RESIDENCE", "820000200002290021", "820000200002290021"),
    ("HKMO_RESIDENCE", "810000 19900101 0019", "810000199001010019"),
    ("TW_RESIDENCE", "830000200002290031", "830000200002290031"),
    ("TW_RESIDENCE", "830000199912311238", "830000199912311238"),
    ("TW_RESIDENCE", with_mod11_2_check("83000019800615002"), with_mod11_2_check("83000019800615002")),
    ("TW_RESIDENCE", " 830000 2000 0229 0031", "830000200002290031"),
    ("WORK_PERMIT_A", "110000123456", "110000123456"),
    ("WORK_PERMIT_A", "abc123", "ABC123"),
    ("WORK_PERMIT_A", "A1B2C3D4E5F6G7H8I9J0", "A1B2C3D4E5F6G7H8I9J0"),
    ("WORK_PERMIT_B", "B 2023 0001 23", "B2023000123"),
    ("WORK_PERMIT_B", "654321", "654321"),
    ("WORK_PERMIT_B", "x9y8z7w6", "X9Y8Z7W6"),
    ("WORK_PERMIT_C", "C20240001", "C20240001"),
    ("WORK_PERMIT_C", "12345678901234567890", "12345678901234567890"),
    ("WORK_PERMIT_C", "ｃ２０２４ａ", "C2024A"),
]

# (type, as typed, error code).
INVALID = [
    ("ID_CARD", "110101199003074515", "check_digit"),
    ("ID_CARD", "110105194902300021", "date"),
    ("ID_CARD", "910105194912310021", "area"),
    ("ID_CARD", "010105194912310026", "area"),  # check digit right, first digit 0
    ("ID_CARD", "110105179912310016", "date"),  # 1799-12-31, before 1800
    ("ID_CARD", "110105190002290017", "date"),  # 1900 was not a leap year
    ("ID_CARD", "11010519491231002", "length"),
    ("ID_CARD", "11010519491231002X1", "length"),
    ("ID_CARD", "11010519491231002Y", "characters"),
    ("ID_CARD", "1101051949123100X2", "characters"),
    ("ID_CARD", "11010519491231002-", "characters"),
    ("ID_CARD", "   ", "empty"),
    ("HKMO_PERMIT", "A12345678", "prefix"),
    ("HKMO_PERMIT", "H1234567", "length"),
    ("HKMO_PERMIT", "H123456789", "length"),
    ("HKMO_PERMIT", "HK1234567", "characters"),
    ("HKMO_PERMIT", "M12345678901", "length"),
    ("HKMO_PERMIT", "H12345678-01", "characters"),
    ("TW_PERMIT", "1234567", "length"),
    ("TW_PERMIT", "12345678A", "characters"),
    ("TW_PERMIT", "123456789", "length"),
    ("TW_PERMIT", "12345678(B)", "characters"),
    ("TW_PERMIT", "", "empty"),
    ("CN_PASSPORT", "EI1234567", "format"),
    ("CN_PASSPORT", "E1234567", "length"),
    ("CN_PASSPORT", "EO1234567", "format"),
    ("CN_PASSPORT", "A12345678", "format"),
    ("CN_PASSPORT", "E123456789", "length"),
    ("CN_PASSPORT", "E1234567!", "characters"),
    ("FOREIGN_PR", "911398199012310022", "check_digit"),
    ("FOREIGN_PR", "KAZ110090123107", "check_digit"),
    ("FOREIGN_PR", "811398199012310021", "prefix"),
    ("FOREIGN_PR", "931392199913010013", "date"),  # month 13, check digit right
    ("FOREIGN_PR", "KAZ11009012310", "length"),
    ("FOREIGN_PR", "KA1110090123105", "format"),
    ("FOREIGN_PR", "KAZ11009012310-", "characters"),
    ("HKMO_RESIDENCE", "810000199001010015", "check_digit"),
    ("HKMO_RESIDENCE", "840000199001010019", "prefix"),
    ("HKMO_RESIDENCE", "830000200002290031", "prefix"),  # a Taiwan permit under the HK/Macau type
    ("HKMO_RESIDENCE", with_mod11_2_check("81000019900230001"), "date"),
    ("HKMO_RESIDENCE", "8100001990010100191", "length"),
    ("TW_RESIDENCE", "830000200002290030", "check_digit"),
    ("TW_RESIDENCE", "810000199001010019", "prefix"),
    ("TW_RESIDENCE", with_mod11_2_check("83000019990229001"), "date"),
    ("TW_RESIDENCE", "83000020000229003Z", "characters"),
    ("FOREIGN_PASSPORT", "", "empty"),
    ("FOREIGN_PASSPORT", "L898-902C3", "characters"),
    ("FOREIGN_PASSPORT", "L898.902C3", "characters"),
    ("FOREIGN_PASSPORT", "1234", "length"),
    ("FOREIGN_PASSPORT", "A" * 21, "length"),
    ("WORK_PERMIT_A", "12345", "length"),
    ("WORK_PERMIT_B", "123 45", "length"),
    ("WORK_PERMIT_C", "1234567-89", "characters"),
    ("WORK_PERMIT_A", "1" * 21, "length"),
    ("WORK_PERMIT_B", "", "empty"),
]


@pytest.mark.parametrize(("doc_type", "typed", "stored"), VALID)
def test_valid_document_number_is_normalised_to_its_stored_form(
    doc_type: str, typed: str, stored: str
) -> None:
    country = "USA" if doc_type == "FOREIGN_PASSPORT" else None
    assert normalise_document_number(doc_type, typed, country=country) == stored


@pytest.mark.parametrize(("doc_type", "typed", "code"), INVALID)
def test_invalid_document_number_is_refused_with_its_reason(doc_type: str, typed: str, code: str) -> None:
    with pytest.raises(DocumentNumberError) as refused:
        normalise_document_number(doc_type, typed, country="USA")
    assert refused.value.code == code
    assert refused.value.doc_type == doc_type


@pytest.mark.parametrize(("doc_type", "typed", "code"), INVALID)
def test_refusal_reads_in_chinese_and_english_without_the_number(
    doc_type: str, typed: str, code: str
) -> None:
    with pytest.raises(DocumentNumberError) as refused:
        normalise_document_number(doc_type, typed, country="USA")
    chinese, english = refused.value.message("zh-CN"), refused.value.message("en")
    assert chinese and english and chinese != english
    assert DOCUMENT_TYPES[doc_type].name_zh in chinese
    assert DOCUMENT_TYPES[doc_type].name_en in english
    if typed.strip():
        for text in (chinese, english, str(refused.value)):
            assert typed.strip() not in text


def test_id_card_with_wrong_check_digit_is_refused() -> None:
    with pytest.raises(DocumentNumberError) as refused:
        normalise_document_number("ID_CARD", "110101199003074515")
    assert refused.value.code == "check_digit"


def test_id_card_born_in_the_future_is_refused() -> None:
    tomorrow = date.today() + timedelta(days=2)  # past midnight in UTC+8 whatever the test's zone
    number = with_mod11_2_check(f"110105{tomorrow:%Y%m%d}001")
    with pytest.raises(DocumentNumberError) as refused:
        normalise_document_number("ID_CARD", number)
    assert refused.value.code == "date"


def test_id_card_born_a_year_ago_is_accepted() -> None:
    number = with_mod11_2_check(f"110105{date.today() - timedelta(days=365):%Y%m%d}001")
    assert normalise_document_number("ID_CARD", number) == number


@pytest.mark.parametrize("doc_type", ["DRIVING_LICENCE", "id_card", ""])
def test_unknown_document_type_is_refused(doc_type: str) -> None:
    with pytest.raises(DocumentNumberError) as refused:
        normalise_document_number(doc_type, "11010519491231002X")
    assert refused.value.code == "unknown_type"
    assert refused.value.message("zh-CN") != refused.value.message("en")


@pytest.mark.parametrize(
    ("country", "number", "stored_country", "stored_number"),
    [
        ("USA", "L898902C3", "USA", "L898902C3"),  # the ICAO 9303 specimen passport
        ("gbr", "123456789", "GBR", "123456789"),
        (" deu ", "c01x00t47", "DEU", "C01X00T47"),
        ("JPN", "TK1234567", "JPN", "TK1234567"),
        ("KOR", "M12345", "KOR", "M12345"),
    ],
)
def test_foreign_passport_stores_the_number_and_country_separately(
    country: str, number: str, stored_country: str, stored_number: str
) -> None:
    assert normalise_document_number("FOREIGN_PASSPORT", number, country=country) == stored_number
    assert normalise_issuing_country(country) == stored_country


@pytest.mark.parametrize("country", [None, "", "US", "USAA", "U1A", "U.S"])
def test_foreign_passport_without_a_three_letter_country_is_refused(country: str | None) -> None:
    with pytest.raises(DocumentNumberError) as refused:
        normalise_document_number("FOREIGN_PASSPORT", "L898902C3", country=country)
    assert refused.value.code == "country"
    assert refused.value.message("zh-CN") != refused.value.message("en")


def test_country_is_ignored_for_documents_that_do_not_name_one() -> None:
    assert normalise_document_number("ID_CARD", "11010519491231002X", country="??") == "11010519491231002X"


def test_document_types_list_the_seven_self_registration_types_before_the_four_hall_first_ones() -> None:
    assert list(DOCUMENT_TYPES) == [
        "ID_CARD", "HKMO_PERMIT", "TW_PERMIT", "CN_PASSPORT", "FOREIGN_PR", "HKMO_RESIDENCE",
        "TW_RESIDENCE", "FOREIGN_PASSPORT", "WORK_PERMIT_A", "WORK_PERMIT_B", "WORK_PERMIT_C",
    ]
    assert [doc.self_registration for doc in DOCUMENT_TYPES.values()] == [True] * 7 + [False] * 4
    assert all(doc.code == code for code, doc in DOCUMENT_TYPES.items())


@pytest.mark.parametrize(
    ("doc_type", "typed", "password"),
    [
        ("ID_CARD", "11010519491231002x", "31002X"),
        ("ID_CARD", "440524188001010014", "010014"),
        ("HKMO_PERMIT", "M1234567801", "345678"),  # the stored number drops the renewal count
        ("TW_PERMIT", "1234567800", "345678"),
        ("CN_PASSPORT", "EF1260892", "260892"),
        ("FOREIGN_PASSPORT", "M12345", "M12345"),  # shorter than six: used whole
    ],
)
def test_initial_password_is_the_last_six_characters_of_the_stored_number(
    doc_type: str, typed: str, password: str
) -> None:
    stored = normalise_document_number(doc_type, typed, country="KOR")
    assert initial_password(doc_type, stored) == password


def test_initial_password_for_an_unknown_type_is_refused() -> None:
    with pytest.raises(DocumentNumberError) as refused:
        initial_password("DRIVING_LICENCE", "123456789")
    assert refused.value.code == "unknown_type"


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("11010519491231002X", "1101**********002X"),
        ("KAZ110090123105", "KAZ1*******3105"),
        ("H12345678", "H123*5678"),
        ("12345678", "******78"),
        ("M12345", "****45"),
        ("AB", "**"),
        ("", ""),
    ],
)
def test_document_number_is_masked_keeping_only_its_ends(number: str, masked: str) -> None:
    assert mask_document_number(number) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),
        ("+8613812341234", "+86138****1234"),
        ("02161234567", "021******67"),
        ("+85291234567", "+85*******67"),
        ("12345", "*****"),
    ],
)
def test_phone_is_masked_keeping_only_its_ends(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014", "911398199012310021"])
def test_mod11_2_accepts_the_domain_vectors(number: str) -> None:
    assert check_mod11_2(number)


def test_icao_7_3_1_matches_the_icao_9303_specimen() -> None:
    # ICAO 9303 part 3 specimen: document number L898902C3, check digit 6.
    assert check_icao_7_3_1("L898902C3", "6")
    assert not check_icao_7_3_1("L898902C3", "7")


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_error_code_has_distinct_chinese_and_english_messages(code: str) -> None:
    error = DocumentNumberError(code, "ID_CARD")
    assert error.message("zh-CN") and error.message("en")
    assert error.message("zh-CN") != error.message("en")
    assert error.message() == error.message("zh-CN")


@pytest.mark.parametrize(
    ("locale", "language"), [("en-US", "en"), ("en_GB", "en"), ("zh", "zh-CN"), ("fr", "zh-CN")]
)
def test_messages_fall_back_by_language_then_to_chinese(locale: str, language: str) -> None:
    error = DocumentNumberError("check_digit", "ID_CARD")
    assert error.message(locale) == error.message(language)


def test_error_is_a_value_error_and_an_unknown_code_fails_where_raised() -> None:
    assert issubclass(DocumentNumberError, LocalizedValueError)
    assert issubclass(DocumentNumberError, ValueError)
    with pytest.raises(KeyError):
        DocumentNumberError("no_such_code")
