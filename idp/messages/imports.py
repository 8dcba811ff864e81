"""Why one row of an operator's import was not imported: accounts, and the old enterprise logins."""

MESSAGES: dict[str, dict[str, str]] = {
    # ImportRowError (idp.people.accounts_import)
    "account_import_doc_type": {
        "zh-CN": "证件类型无效（应为 {types} 之一）",
        "en": "unknown doc_type (one of {types})",
    },
    "account_import_document": {"zh-CN": "证件号码无效：{detail}", "en": "invalid document: {detail}"},
    "account_import_name": {"zh-CN": "姓名为空或过长", "en": "name is empty or too long"},
    "account_import_phone": {
        "zh-CN": "手机号码无效（应为11位大陆手机号）",
        "en": "invalid phone (an 11-digit mainland mobile)",
    },
    "account_import_phone_taken": {
        "zh-CN": "该手机号码已属于另一个账户",
        "en": "phone already belongs to another account",
    },
    "account_import_level": {"zh-CN": "实名等级只能是3或4", "en": "realname_level must be 3 or 4"},
    "account_import_legacy_hash": {
        "zh-CN": "原系统密码哈希格式不受支持",
        "en": "legacy_password_hash is not in a supported format",
    },
    "account_import_conflict": {
        "zh-CN": "与同时创建的账户冲突（证件或手机号码），请重新导入",
        "en": "conflicts with an account created meanwhile (document or phone); import again",
    },
    # RowTextError (idp.people.csv_import)
    "import_row_nul": {"zh-CN": "该行含有空字符（NUL），无法导入", "en": "the row contains a NUL character"},
    # LegacyImportRowError (idp.taxpayers.legacy_import)
    "legacy_import_taxpayer_number": {"zh-CN": "纳税人识别号无效：{detail}", "en": "invalid taxpayer_number: {detail}"},
    "legacy_import_name": {"zh-CN": "纳税人名称为空或过长", "en": "name is empty or too long"},
    "legacy_import_tax_authority": {
        "zh-CN": "主管税务机关代码或名称为空或过长",
        "en": "tax_authority_code or tax_authority_name is empty or too long",
    },
    "legacy_import_kind": {"zh-CN": "纳税人类型无效（应为 {kinds} 之一）", "en": "unknown kind (one of {kinds})"},
    "legacy_import_legacy_hash": {
        "zh-CN": "原系统密码哈希格式不受支持",
        "en": "legacy_password_hash is not in a supported format",
    },
    "legacy_import_conflict": {
        "zh-CN": "与同时创建的纳税人或原登录账户冲突，请重新导入",
        "en": "conflicts with a taxpayer or old login created meanwhile; import again",
    },
}
