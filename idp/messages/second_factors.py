"""Texts of the enrolled second factors: security keys and app codes."""

MESSAGES: dict[str, dict[str, str]] = {
    # On the second-factor page, beside the SMS code and the face scan.
    "use_security_key": {"zh-CN": "使用安全密钥", "en": "Use a security key"},
    "use_app_code": {"zh-CN": "使用动态口令", "en": "Use an authenticator app code"},
    "error_wrong_credential_webauthn": {
        "zh-CN": "安全密钥验证未通过，请重试",
        "en": "The security key could not be verified; please try again.",
    },
    "error_security_key_expired": {
        "zh-CN": "安全密钥验证已超时，请重新操作",
        "en": "The security-key request timed out; please try again.",
    },
    "error_security_key_counter_regression": {
        "zh-CN": "该安全密钥可能已被复制，已拒绝登录。请改用短信验证码并删除该密钥",
        "en": "This security key may have been copied, so the sign-in was refused. "
        "Please use an SMS code and remove the key.",
    },
    "error_wrong_credential_otp": {
        "zh-CN": "动态口令错误或已使用，请输入应用中的最新口令",
        "en": "Wrong or already used code; please enter the app's current code.",
    },
    # Security keys in the account centre.
    "sk_title": {"zh-CN": "安全密钥", "en": "Security keys"},
    "sk_intro": {
        "zh-CN": "安全密钥（支持PIN码或指纹验证）可代替短信验证码作为登录的第二个因子。",
        "en": "A security key (with a PIN or fingerprint) can replace the SMS code as your second sign-in factor.",
    },
    "sk_none": {"zh-CN": "尚未注册安全密钥。", "en": "No security key registered yet."},
    "sk_add": {"zh-CN": "添加安全密钥", "en": "Add a security key"},
    "sk_add_intro": {
        "zh-CN": "请为密钥命名，点击注册后按提示插入或触碰密钥，并验证PIN码或指纹。",
        "en": "Name the key, press Register, then insert or touch it and verify your PIN or fingerprint.",
    },
    "sk_name": {"zh-CN": "密钥名称", "en": "Key name"},
    "sk_register_button": {"zh-CN": "注册", "en": "Register"},
    "sk_rename": {"zh-CN": "保存名称", "en": "Save name"},
    "sk_remove": {"zh-CN": "删除", "en": "Remove"},
    "sk_created": {"zh-CN": "添加时间", "en": "Added"},
    "sk_last_used": {"zh-CN": "最近使用", "en": "Last used"},
    "sk_never_used": {"zh-CN": "从未使用", "en": "Never"},
    "sk_back": {"zh-CN": "返回安全密钥", "en": "Back to security keys"},
    "sk_saved_registered": {"zh-CN": "安全密钥已注册。", "en": "The security key was registered."},
    "sk_saved_renamed": {"zh-CN": "名称已保存。", "en": "The name was saved."},
    "sk_saved_removed": {"zh-CN": "安全密钥已删除。", "en": "The security key was removed."},
    "sk_browser_failed": {
        "zh-CN": "未能完成安全密钥操作，请重试",
        "en": "The security key did not respond; please try again.",
    },
    "sk_browser_unsupported": {
        "zh-CN": "当前浏览器不支持安全密钥，请更换浏览器或改用短信验证码",
        "en": "This browser does not support security keys; please use another browser or an SMS code.",
    },
    "sk_login_title": {"zh-CN": "安全密钥验证", "en": "Security key"},
    "sk_login_intro": {
        "zh-CN": "请插入或触碰您的安全密钥，并验证PIN码或指纹。",
        "en": "Insert or touch your security key and verify your PIN or fingerprint.",
    },
    "sk_login_button": {"zh-CN": "使用安全密钥登录", "en": "Sign in with the security key"},
    # App codes (TOTP) in the account centre and at login.
    "otp_title": {"zh-CN": "动态口令", "en": "Authenticator app"},
    "otp_intro": {
        "zh-CN": "绑定税务APP或其他身份验证器应用后，可用其生成的6位动态口令代替短信验证码登录。",
        "en": "With the tax app or any authenticator app bound, its 6-digit codes can replace the SMS code.",
    },
    "otp_enrolled": {"zh-CN": "已绑定", "en": "Bound"},
    "otp_not_enrolled": {"zh-CN": "未绑定", "en": "Not bound"},
    "otp_add": {"zh-CN": "绑定身份验证器", "en": "Bind an authenticator app"},
    "otp_scan": {
        "zh-CN": "请用应用扫描二维码，或手动输入下方密钥。密钥只显示这一次。",
        "en": "Scan the QR code with the app, or type the key below. The key is shown only this once.",
    },
    "otp_secret_label": {"zh-CN": "密钥", "en": "Key"},
    "otp_code_label": {"zh-CN": "动态口令", "en": "App code"},
    "otp_confirm_button": {"zh-CN": "确认绑定", "en": "Confirm"},
    "otp_remove": {"zh-CN": "解除绑定", "en": "Unbind"},
    "otp_saved_enrolled": {"zh-CN": "身份验证器已绑定。", "en": "The authenticator app was bound."},
    "otp_saved_removed": {"zh-CN": "身份验证器已解除绑定。", "en": "The authenticator app was unbound."},
    "otp_login_title": {"zh-CN": "动态口令验证", "en": "Authenticator app code"},
    "otp_login_intro": {
        "zh-CN": "请输入身份验证器应用中显示的6位动态口令。",
        "en": "Enter the 6-digit code your authenticator app shows.",
    },
}
