"""Texts of the old enterprise login of the dual-track transition (docs/domain.md §1.2 and §1.8)."""

MESSAGES: dict[str, dict[str, str]] = {
    "legacy_login_link": {
        "zh-CN": "原企业登录方式（过渡期，{date}前可用）",
        "en": "Old enterprise sign-in (transition, until {date})",
    },
    "legacy_login_title": {"zh-CN": "原企业登录方式（过渡期）", "en": "Old enterprise sign-in (transition)"},
    "legacy_taxpayer_number_label": {
        "zh-CN": "纳税人识别号（统一社会信用代码）",
        "en": "Taxpayer number (unified social credit code)",
    },
    "legacy_password_label": {"zh-CN": "企业密码（原电子税务局）", "en": "Enterprise password (previous e-tax system)"},
    "legacy_transition_note": {
        "zh-CN": "原企业登录方式仅在过渡期内保留，将于{date}起停止使用，届时企业密码取消。"
                 "请尽快以自然人身份注册个人账号，之后通过“企业业务”入口用个人账号登录。",
        "en": "The old enterprise sign-in is kept only for the transition and ends on {date}, when the "
              "enterprise password is withdrawn. Please register a personal account as a natural person soon, "
              "then sign in with it through the enterprise entry.",
    },
    "legacy_banner_title": {"zh-CN": "请注册个人账号", "en": "Please register a personal account"},
    "legacy_banner_signed_in": {
        "zh-CN": "您已通过原企业登录方式登录：{name}（{number}）。",
        "en": "You are signed in with the old enterprise sign-in: {name} ({number}).",
    },
    "legacy_register_button": {"zh-CN": "注册个人账号", "en": "Register a personal account"},
    "legacy_continue_button": {"zh-CN": "继续", "en": "Continue"},
    "legacy_personal_login_link": {"zh-CN": "使用个人账号登录", "en": "Sign in with a personal account"},
    "legacy_done": {
        "zh-CN": "登录完成。您可以关闭本页，或返回办税应用。",
        "en": "You are signed in. You may close this page or go back to the e-tax application.",
    },
    "role_legacy_enterprise_account": {"zh-CN": "企业账号（原登录方式）", "en": "Enterprise account (old sign-in)"},
    "error_legacy_wrong_credential": {
        "zh-CN": "纳税人识别号或企业密码错误",
        "en": "Wrong taxpayer number or enterprise password.",
    },
    "error_legacy_closed": {
        "zh-CN": "原企业登录方式已于{date}停止使用，企业密码已取消。请使用个人账号登录；"
                 "尚未注册的，请先在自然人业务入口注册。",
        "en": "The old enterprise sign-in ended on {date}: the enterprise password is withdrawn. Sign in with "
              "your personal account; if you have none, register through the natural-person entry first.",
    },
    "error_legacy_not_offered": {
        "zh-CN": "原企业登录方式已停止使用，企业密码已取消。请使用个人账号登录；尚未注册的，请先在自然人业务入口注册。",
        "en": "The old enterprise sign-in is no longer offered: the enterprise password is withdrawn. Sign in with "
              "your personal account; if you have none, register through the natural-person entry first.",
    },
    "error_legacy_method_locked": {
        "zh-CN": "连续认证错误次数过多，该企业的原登录方式今日已被锁定。请明天再试，或使用个人账号登录。",
        "en": "Too many failed attempts: the old sign-in of this enterprise is locked until tomorrow. Try again "
              "tomorrow, or sign in with a personal account.",
    },
    "legacy_refused_strength": {
        "zh-CN": "该应用要求双因子认证（如密码 + 短信验证码），原企业登录方式只有企业密码一个因子，不能用于该应用。"
                 "请使用个人账号登录。",
        "en": "This application needs two-factor sign-in (such as password + SMS code); the old enterprise "
              "sign-in has one factor only and cannot be used here. Please sign in with a personal account.",
    },
    "legacy_refused_third_party": {
        "zh-CN": "该应用需要您本人授权，原企业登录方式不能用于该应用。请使用个人账号登录。",
        "en": "This application needs your own consent; the old enterprise sign-in cannot be used here. "
              "Please sign in with a personal account.",
    },
    "legacy_refused_business_entry": {
        "zh-CN": "该应用要求其他业务入口，原企业登录方式只适用于企业业务。请使用个人账号登录。",
        "en": "This application asks for another business entry; the old enterprise sign-in serves enterprise "
              "business only. Please sign in with a personal account.",
    },
}
