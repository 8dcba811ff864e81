"""Texts of the forced password change and of "forgot password" (docs/domain.md §1.8, §1.10)."""

MESSAGES: dict[str, dict[str, str]] = {
    "forgot_password_link": {"zh-CN": "忘记密码", "en": "Forgot password"},
    "reset_steps_label": {"zh-CN": "找回密码步骤", "en": "Password reset steps"},
    "reset_step_account": {"zh-CN": "填写账号", "en": "Your account"},
    "reset_step_verify": {"zh-CN": "验证身份", "en": "Verify"},
    "reset_step_password": {"zh-CN": "设置新密码", "en": "New password"},
    "forgot_title": {"zh-CN": "忘记密码", "en": "Forgot password"},
    "forgot_identify_note": {
        "zh-CN": "请输入用户名、手机号码或证件号码。验证身份（短信验证码或刷脸）后即可设置新密码。",
        "en": "Enter your username, phone number or ID number. After verifying it is you (SMS code or face "
        "scan) you set a new password.",
    },
    "forgot_verify_title": {"zh-CN": "验证身份", "en": "Verify it is you"},
    "forgot_sms_target": {
        "zh-CN": "验证码将发送至您的手机 {phone}。",
        "en": "A code will be sent to your phone {phone}.",
    },
    "forgot_send_code": {"zh-CN": "获取短信验证码", "en": "Send me a code"},
    "forgot_use_face": {"zh-CN": "改用刷脸验证", "en": "Verify with a face scan instead"},
    "error_reset_expired": {
        "zh-CN": "找回密码已超时或步骤无效，请重新开始",
        "en": "This password reset has expired or a step was skipped; please start again.",
    },
    "pw_reset_new_title": {"zh-CN": "设置新密码", "en": "Set a new password"},
    "pw_reset_new_note": {
        "zh-CN": "身份验证已通过，请设置新的个人用户密码。",
        "en": "You are verified. Choose your new personal password.",
    },
    "pw_forced_title": {"zh-CN": "修改初始密码", "en": "Change your initial password"},
    "pw_forced_note": {
        "zh-CN": "您使用的是初始密码（证件号码后六位）。为保障账户安全，请设置新密码，修改完成后需要重新登录。",
        "en": "You signed in with the initial password (the last six characters of your document number). "
        "Please set a new password; you will then sign in again with it.",
    },
    "pw_new_label": {"zh-CN": "新密码", "en": "New password"},
    "pw_confirm_label": {"zh-CN": "确认新密码", "en": "New password again"},
    "pw_rule_note": {
        "zh-CN": "8-16位，至少包含数字、字母、符号（{symbols}）中的两种，字母区分大小写，不能包含证件号码。",
        "en": "8 to 16 characters with at least two of: digits, letters (case-sensitive), symbols ({symbols}); "
        "it cannot contain your document number.",
    },
    "pw_save_button": {"zh-CN": "确定", "en": "Save"},
    "pw_done_title": {"zh-CN": "密码设置成功", "en": "Password saved"},
    "pw_forced_done": {
        "zh-CN": "密码修改成功，请使用新密码重新登录。",
        "en": "Your password was changed. Please sign in again with the new password.",
    },
    "pw_reset_done": {
        "zh-CN": "密码已重置，您在所有设备上的登录均已退出，请使用新密码登录。",
        "en": "Your password was reset and you were signed out everywhere. Please sign in with the new password.",
    },
    "pw_relogin_link": {"zh-CN": "重新登录", "en": "Sign in again"},
    # PasswordPolicyError (idp.people.password_policy)
    "password_policy_length": {"zh-CN": "密码长度应为8-16位", "en": "The password must have 8 to 16 characters."},
    "password_policy_characters": {
        "zh-CN": "密码只能包含字母、数字和符号 {symbols}",
        "en": "The password may contain only letters, digits and the symbols {symbols}",
    },
    "password_policy_kinds": {
        "zh-CN": "密码应至少包含数字、字母、符号中的两种",
        "en": "The password needs at least two of: digits, letters, symbols.",
    },
    "password_policy_document": {
        "zh-CN": "密码不能包含证件号码",
        "en": "The password cannot contain your document number.",
    },
    # NewPasswordError (idp.people.password_change)
    "new_password_mismatch": {"zh-CN": "两次输入的新密码不一致", "en": "The two new passwords do not match."},
}
