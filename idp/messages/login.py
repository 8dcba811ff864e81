"""Texts of the login pages and shared page chrome (the bureau's wording, docs/domain.md §14)."""

MESSAGES: dict[str, dict[str, str]] = {
    "site_name": {"zh-CN": "青岛市电子税务局 统一身份认证", "en": "Qingdao e-Tax Unified Login"},
    "login_title": {"zh-CN": "用户登录", "en": "Sign in"},
    "identifier_label": {"zh-CN": "用户名 / 手机号码 / 证件号码", "en": "Username / phone number / ID number"},
    "password_label": {"zh-CN": "个人用户密码", "en": "Personal password"},
    "login_button": {"zh-CN": "登录", "en": "Sign in"},
    "next_button": {"zh-CN": "下一步", "en": "Next"},
    "register_link": {"zh-CN": "用户注册", "en": "Register"},
    "sms_title": {"zh-CN": "短信验证", "en": "SMS verification"},
    "sms_sent": {
        "zh-CN": "验证码已发送至 {phone}，{minutes} 分钟内有效。",
        "en": "A code was sent to {phone}; it is valid for {minutes} minutes.",
    },
    "sms_resend_wait": {"zh-CN": "{seconds} 秒后可重新发送", "en": "You can ask again in {seconds} s"},
    "change_account": {"zh-CN": "更换账号", "en": "Use another account"},
    "login_steps_label": {"zh-CN": "登录步骤", "en": "Sign-in steps"},
    "login_step_password": {"zh-CN": "账号密码", "en": "Account and password"},
    "login_step_second": {"zh-CN": "安全验证", "en": "Second check"},
    "login_step_taxpayer": {"zh-CN": "选择办税身份", "en": "Choose the taxpayer"},
    "login_step_done": {"zh-CN": "（已完成）", "en": " (done)"},
    "business_legend": {"zh-CN": "办理业务", "en": "Sign in for"},
    "other_ways_title": {"zh-CN": "其他登录方式", "en": "Other ways to sign in"},
    "sms_code_label": {"zh-CN": "短信验证码", "en": "SMS code"},
    "sms_resend": {"zh-CN": "重新发送验证码", "en": "Send a new code"},
    # The second-factor page of a person with a security key or app code, before any SMS was sent.
    "second_factor_title": {"zh-CN": "选择验证方式", "en": "Choose how to verify"},
    "second_factor_choose": {
        "zh-CN": "请选择第二个认证因子完成登录。",
        "en": "Choose your second factor to finish signing in.",
    },
    "sms_send": {"zh-CN": "发送短信验证码", "en": "Send SMS code"},
    "sms_send_note": {"zh-CN": "验证码将发送至 {phone}。", "en": "The code will be sent to {phone}."},
    "second_factor_note": {
        "zh-CN": "为保护您的账户安全，登录需要密码和短信验证码两个因子。",
        "en": "For your account's safety, signing in needs your password and an SMS code.",
    },
    "error_not_registered": {
        "zh-CN": "该用户未注册，请在自然人业务入口进行用户注册",
        "en": "This user is not registered. Please register through the natural-person entry.",
    },
    "error_wrong_credential_password": {"zh-CN": "个人账号或密码错误", "en": "Wrong account or password."},
    "error_wrong_credential_sms": {"zh-CN": "短信验证码错误，请重新输入", "en": "Wrong SMS code; please try again."},
    # docs/domain.md §14's text said "您的账号已被锁定" though only one method is locked (§7), until the
    # next local day or a password reset: the texts name the method, the time and what still works.
    "error_method_locked": {
        "zh-CN": "连续认证错误次数过多，该认证方式已锁定至次日0时（北京时间），其他认证方式不受影响。"
        "您可以通过“忘记密码”重置密码立即解锁；如需帮助，请拨打12366纳税服务热线。",
        "en": "Too many failed attempts: this method is locked until midnight (Beijing time); other methods "
        "still work. Setting a new password with “Forgot password” unlocks it at once; for help, call the "
        "12366 tax service hotline.",
    },
    "error_method_locked_password": {
        "zh-CN": "连续认证错误次数过多，个人用户密码登录已锁定至次日0时（北京时间），其他登录方式不受影响。"
        "您可以使用扫码登录，或通过“忘记密码”重置密码立即解锁；如需帮助，请拨打12366纳税服务热线。",
        "en": "Too many failed attempts: password sign-in is locked until midnight (Beijing time); other ways to "
        "sign in still work. Sign in with a QR code, or set a new password with “Forgot password” to unlock "
        "it at once; for help, call the 12366 tax service hotline.",
    },
    "error_method_locked_sms": {
        "zh-CN": "连续认证错误次数过多，短信验证码登录已锁定至次日0时（北京时间）。"
        "您可以改用刷脸验证或扫码登录，或通过“忘记密码”重置密码立即解锁；如需帮助，请拨打12366纳税服务热线。",
        "en": "Too many failed attempts: SMS codes are locked until midnight (Beijing time). Verify with a face "
        "scan or sign in with a QR code instead, or set a new password with “Forgot password” to unlock at "
        "once; for help, call the 12366 tax service hotline.",
    },
    "error_failures_so_far_password": {
        "zh-CN": "今日已连续错误{failures}次，连续{threshold}次将锁定密码登录至次日。",
        "en": "Failed attempts in a row today: {failures}; at {threshold}, password sign-in locks until tomorrow.",
    },
    "error_failures_so_far_sms": {
        "zh-CN": "今日已连续错误{failures}次，连续{threshold}次将锁定短信验证码登录至次日。",
        "en": "Failed attempts in a row today: {failures}; at {threshold}, SMS codes lock until tomorrow.",
    },
    "error_code_expired": {
        "zh-CN": "验证码已失效，请重新获取",
        "en": "This code has expired or was used up; please request a new one.",
    },
    "error_resend_too_soon": {
        "zh-CN": "验证码发送过于频繁，请 {seconds} 秒后再试",
        "en": "Please wait {seconds} seconds before requesting another code.",
    },
    "error_daily_cap_reached": {
        "zh-CN": "今日验证码发送次数已达上限，请明天再试",
        "en": "Today's limit of codes for this phone is reached; please try tomorrow.",
    },
    "error_sms_unavailable": {
        "zh-CN": "短信发送失败，请稍后再试",
        "en": "The SMS could not be sent; please try again later.",
    },
    "error_login_expired": {
        "zh-CN": "登录已超时，请重新登录",
        "en": "Your sign-in took too long; please start again.",
    },
    "error_missing_fields": {"zh-CN": "请填写完整的登录信息", "en": "Please fill in every field."},
    "error_too_many_requests": {
        "zh-CN": "请求过于频繁，请稍后再试",
        "en": "Too many requests; please wait a moment.",
    },
    "register_title": {"zh-CN": "自然人用户注册", "en": "Natural-person registration"},
    "account_title": {"zh-CN": "账户中心", "en": "Account centre"},
    "account_signed_in": {"zh-CN": "您已登录：{name}", "en": "Signed in as {name}"},
    "account_document": {"zh-CN": "证件号码", "en": "Document number"},
    "account_phone": {"zh-CN": "手机号码", "en": "Phone"},
    "account_realname": {"zh-CN": "实名等级", "en": "Real-name level"},
    "account_strength": {"zh-CN": "本次登录认证强度", "en": "Strength of this sign-in"},
    "logout_button": {"zh-CN": "退出登录", "en": "Sign out"},
    "logout_title": {"zh-CN": "退出登录", "en": "Sign out"},
    "logout_confirm": {"zh-CN": "确定要退出登录吗？", "en": "Do you want to sign out?"},
    "logged_out": {"zh-CN": "您已安全退出。", "en": "You have signed out."},
    "notice_login_timed_out": {
        "zh-CN": "登录已超时，请重新登录。",
        "en": "Your sign-in timed out. Please sign in again.",
    },
    "notice_interaction_unknown": {
        "zh-CN": "您从应用发起的登录请求已失效或已完成。登录后将进入个人中心；"
        "如需办理应用中的业务，请返回该应用重新发起登录。",
        "en": "The sign-in request from your app has expired or was already completed. Signing in here takes you "
        "to your account centre; to continue in the app, go back to it and start the sign-in again.",
    },
    "back_to_login": {"zh-CN": "返回登录", "en": "Back to sign-in"},
    "language_switch": {"zh-CN": "English", "en": "中文"},
}
