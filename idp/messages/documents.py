"""Why an identity document number or a taxpayer number is refused (docs/domain.md §3, §2.2).

``{document}`` is the document's name and ``{subject}`` the kind of taxpayer number, in the
message's language.
"""

MESSAGES: dict[str, dict[str, str]] = {
    # DocumentNumberError (idp.people.identity_documents)
    "document_unknown_type": {
        "zh-CN": "不支持该证件类型，请从列表中选择证件类型。",
        "en": "This identity document type is not supported; choose one from the list.",
    },
    "document_empty": {"zh-CN": "请输入{document}号码。", "en": "{document}: enter the document number."},
    "document_length": {
        "zh-CN": "{document}号码位数不正确，请核对后重新输入。",
        "en": "{document}: the number has the wrong length; check it and try again.",
    },
    "document_characters": {
        "zh-CN": "{document}号码含有不应出现的字符，请核对后重新输入。",
        "en": "{document}: the number contains characters it cannot contain; check it.",
    },
    "document_check_digit": {
        "zh-CN": "{document}号码校验位不符，可能输错了某一位，请核对后重新输入。",
        "en": "{document}: the check digit does not match; a character is probably mistyped.",
    },
    "document_date": {
        "zh-CN": "{document}号码中的出生日期无效，请核对后重新输入。",
        "en": "{document}: the date of birth inside the number is not a real date; check it.",
    },
    "document_area": {
        "zh-CN": "{document}号码开头的地区码无效，请核对后重新输入。",
        "en": "{document}: the number starts with an invalid region code; check it.",
    },
    "document_prefix": {
        "zh-CN": "{document}号码的开头不正确，请确认证件类型和号码。",
        "en": "{document}: the number does not start as this document's do; check type and number.",
    },
    "document_country": {
        "zh-CN": "请填写{document}签发国家的三位字母代码（如 USA）。",
        "en": "{document}: enter the issuing country as its three-letter code, such as USA.",
    },
    "document_format": {
        "zh-CN": "{document}号码格式不正确，请核对后重新输入。",
        "en": "{document}: the number is not in this document's format; check it and try again.",
    },
    # TaxpayerNumberError (idp.taxpayers.taxpayer_numbers)
    "taxpayer_number_empty": {"zh-CN": "请输入{subject}。", "en": "Enter the {subject}."},
    "taxpayer_number_length": {
        "zh-CN": "{subject}位数不正确，请核对后重新输入。",
        "en": "The {subject} has the wrong length; check it and try again.",
    },
    "taxpayer_number_characters": {
        "zh-CN": "{subject}含有不应出现的字符，请核对后重新输入。",
        "en": "The {subject} contains characters it cannot contain; check it and try again.",
    },
    "taxpayer_number_check_digit": {
        "zh-CN": "{subject}校验位不符，可能输错了某一位，请核对后重新输入。",
        "en": "The {subject} fails its check character; a character is probably mistyped.",
    },
    "taxpayer_number_format": {
        "zh-CN": "{subject}格式不正确，请核对后重新输入。",
        "en": "The {subject} is not in a format the tax bureau issues; check it and try again.",
    },
}
