"""Texts of the account centre (docs/domain.md §1.5, §1.10, §1.13): personal information and the changes made there.

Validation refusals carry their own texts (``idp.people.usernames``, ``idp.people.username_change``,
``idp.people.phone_change``, ``idp.people.account_centre``, ``idp.people.password_policy``); these are the pages'.
"""

MESSAGES: dict[str, dict[str, str]] = {
    "acct_personal_info": {"zh-CN": "个人信息", "en": "Personal information"},
    "acct_name": {"zh-CN": "姓名", "en": "Name"},
    "acct_username": {"zh-CN": "用户名", "en": "Username"},
    "acct_username_none": {"zh-CN": "未设置", "en": "Not set"},
    "acct_level": {"zh-CN": "{level}级", "en": "Level {level}"},
    "acct_login_time": {"zh-CN": "登录时间", "en": "Signed in at"},
    "acct_strength_loa1": {"zh-CN": "单因子认证（旧版登录）", "en": "One factor (old login)"},
    "acct_strength_loa2": {"zh-CN": "双因子认证", "en": "Two factors"},
    "acct_strength_loa3": {"zh-CN": "双因子认证（含刷脸）", "en": "Two factors, with a face scan"},
    "acct_amr_pwd": {"zh-CN": "密码", "en": "password"},
    "acct_amr_sms": {"zh-CN": "短信验证码", "en": "SMS code"},
    "acct_amr_face": {"zh-CN": "刷脸", "en": "face scan"},
    "acct_amr_hwk": {"zh-CN": "安全密钥", "en": "security key"},
    "acct_amr_pin": {"zh-CN": "证书PIN码", "en": "certificate PIN"},
    "acct_amr_mca": {"zh-CN": "扫码确认", "en": "QR approval"},
    "acct_amr_otp": {"zh-CN": "动态口令", "en": "one-time password"},
    "acct_change_password": {"zh-CN": "个人密码修改", "en": "Change password"},
    "acct_add_username": {"zh-CN": "添加用户名", "en": "Add a username"},
    "acct_change_username": {"zh-CN": "修改用户名", "en": "Change username"},
    "acct_change_phone": {"zh-CN": "更换手机号码", "en": "Change phone number"},
    "acct_realname_title": {"zh-CN": "个人实名等级", "en": "Real-name level"},
    "acct_sessions_title": {"zh-CN": "登录设备管理", "en": "Active sessions"},
    "acct_back": {"zh-CN": "返回账户中心", "en": "Back to the account centre"},
    "acct_save": {"zh-CN": "保存", "en": "Save"},
    "acct_saved_password": {
        "zh-CN": "密码已修改。您在其他设备上的登录已全部退出。",
        "en": "Your password was changed. You were signed out on every other device.",
    },
    "acct_saved_username": {"zh-CN": "用户名已保存。", "en": "Your username was saved."},
    "acct_saved_phone": {"zh-CN": "手机号码已更换。", "en": "Your phone number was changed."},
    "acct_saved_realname": {
        "zh-CN": "刷脸认证通过，您的实名等级已提升至四级。",
        "en": "Face check passed: your real-name level is now 4.",
    },
    "acct_saved_session_ended": {"zh-CN": "该登录已结束。", "en": "That session has ended."},
    "acct_current_password": {"zh-CN": "当前密码", "en": "Current password"},
    "acct_error_wrong_current_password": {
        "zh-CN": "当前密码错误（今日已连续错误{failures}次，连续{threshold}次将锁定密码认证至次日）",
        "en": "The current password is wrong ({failures} failure(s) in a row today; {threshold} lock password "
        "sign-in until tomorrow).",
    },
    "acct_new_password": {"zh-CN": "新密码", "en": "New password"},
    "acct_confirm_password": {"zh-CN": "确认新密码", "en": "Repeat the new password"},
    "acct_password_rule": {
        "zh-CN": "8-16位，至少包含数字、字母、符号中的两种，不能包含证件号码。修改后其他设备上的登录将全部退出。",
        "en": "8-16 characters with at least two of digits, letters and symbols, not containing your document "
        "number. Every other device is signed out after the change.",
    },
    "acct_new_username": {"zh-CN": "新用户名", "en": "New username"},
    "acct_username_rule": {
        "zh-CN": "4-20位英文字母、数字或下划线，不能全部为数字，不能是手机号码或证件号码格式。"
        "用户名一年只能设置或修改一次。",
        "en": "4-20 letters, digits or underscores; not all digits; not shaped like a phone or document number. "
        "A username can be set or changed once a year.",
    },
    "acct_new_phone": {"zh-CN": "新手机号码", "en": "New phone number"},
    "acct_send_code": {"zh-CN": "获取验证码", "en": "Send a code"},
    "acct_phone_code_sent": {
        "zh-CN": "验证码已发送至新手机号码 {phone}，5分钟内有效。",
        "en": "A code was sent to the new number {phone}; it is valid for 5 minutes.",
    },
    "acct_phone_rule": {
        "zh-CN": "验证码将发送到新手机号码；更换还需输入当前密码。",
        "en": "The code goes to the new number; the change also needs your current password.",
    },
    "acct_confirm_change": {"zh-CN": "确认更换", "en": "Change the number"},
    "acct_realname_level_is": {"zh-CN": "您当前的实名等级：{level}", "en": "Your real-name level: {level}"},
    "acct_realname_explain3": {
        "zh-CN": "您尚未完成扫脸认证，实名等级为三级。完成刷脸认证后可提升至四级。",
        "en": "You have not had a face check yet, so your level is 3. A face check raises it to 4.",
    },
    "acct_realname_explain_done": {
        "zh-CN": "您已完成实名认证，无需提升。",
        "en": "Your real-name verification is complete; nothing to do.",
    },
    "acct_realname_upgrade": {"zh-CN": "刷脸提升实名等级", "en": "Raise my level with a face scan"},
    "acct_realname_consent_alternative": {
        "zh-CN": "提升实名等级不是必须的：您仍可使用“密码 + 短信验证码”登录；办理关键业务时系统也会提示刷脸。",
        "en": "Raising the level is optional: you can still sign in with password + SMS code, and key business "
        "will ask for a face scan when it needs one.",
    },
    "acct_sessions_intro": {
        "zh-CN": "以下是您当前有效的登录。结束某个登录会同时使其授权的应用失效。",
        "en": "These are your live sign-ins. Ending one also revokes the applications it signed in to.",
    },
    "acct_session_current": {"zh-CN": "当前登录", "en": "This session"},
    "acct_session_created": {"zh-CN": "登录时间", "en": "Signed in"},
    "acct_session_expires": {"zh-CN": "有效期至", "en": "Valid until"},
    "acct_session_strength": {"zh-CN": "认证强度", "en": "Strength"},
    "acct_session_apps": {"zh-CN": "已登录应用", "en": "Applications"},
    "acct_session_no_apps": {"zh-CN": "无", "en": "None"},
    "acct_session_end": {"zh-CN": "结束此登录", "en": "End this session"},
    "acct_sign_out_everywhere": {"zh-CN": "退出全部设备", "en": "Sign out everywhere"},
    "acct_signed_out_everywhere": {
        "zh-CN": "您已在全部设备上退出登录。",
        "en": "You have been signed out on every device.",
    },
    "acct_reauth_title": {"zh-CN": "请重新验证身份", "en": "Please confirm it is you"},
    "acct_reauth_explain": {
        "zh-CN": "为保护您的账户安全，修改密码、手机号码或用户名，下载个人数据或注销账号前需要重新登录"
        "（密码 + 短信验证码）。完成后将回到此页面。",
        "en": "To protect your account, changing your password, phone number or username, downloading your data "
        "or closing your account needs a fresh sign-in (password + SMS code). You will come back here afterwards.",
    },
    "acct_reauth_button": {"zh-CN": "重新登录", "en": "Sign in again"},
    "acct_privacy_title": {"zh-CN": "个人信息权利", "en": "Your personal information"},
    "acct_privacy_intro": {
        "zh-CN": "依照《个人信息保护法》，您可以查阅、复制您的个人信息，撤回人脸识别授权，或注销账号。",
        "en": "Under the Personal Information Protection Law you may see and copy your personal information, "
              "withdraw your consent to face recognition, or close your account.",
    },
    "acct_export_title": {"zh-CN": "下载我的数据", "en": "Download my data"},
    "acct_export_explain": {
        "zh-CN": "一个JSON文件：个人资料、涉税身份、授权记录、登录会话、已登记的安全密钥和动态口令（不含密钥），"
                 "以及近6个月与您有关的操作记录。他人的证件号码和手机号码已隐去部分。",
        "en": "One JSON file: your profile, taxpayer roles, consents, sign-in sessions, the security keys and "
              "app codes you registered (no secrets), and your own activity log of the last 6 months. Other "
              "people's document and phone numbers in it are masked.",
    },
    "acct_export_button": {"zh-CN": "下载我的数据", "en": "Download my data"},
    "acct_face_consent_title": {"zh-CN": "人脸识别授权", "en": "Consent to face recognition"},
    "acct_face_state_given": {
        "zh-CN": "您已同意人脸识别：登录、找回密码和实名认证时可以刷脸。",
        "en": "You consented to face recognition: face scans are offered at sign-in, password reset and "
              "real-name checks.",
    },
    "acct_face_state_withdrawn": {
        "zh-CN": "您已撤回人脸识别授权：不会再为您刷脸，请使用密码和短信验证码。",
        "en": "You withdrew your consent to face recognition: no face scan is made for you; use your password "
              "and SMS codes.",
    },
    "acct_face_state_none": {
        "zh-CN": "您尚未同意人脸识别；首次刷脸前会单独征求您的同意。",
        "en": "You have not consented to face recognition; your separate consent is asked before a first scan.",
    },
    "acct_face_withdraw_explain": {
        "zh-CN": "撤回后，登录、找回密码和提升实名等级均不能再刷脸，密码和短信验证码照常可用；您可以随时在此重新授权。",
        "en": "After withdrawing, no face scan is possible at sign-in, password reset or real-name upgrade; "
              "password and SMS codes still work. You can consent again here at any time.",
    },
    "acct_face_withdraw_button": {"zh-CN": "撤回人脸识别授权", "en": "Withdraw face consent"},
    "acct_face_consent_again": {"zh-CN": "重新授权人脸识别", "en": "Consent to face recognition again"},
    "acct_saved_face_withdrawn": {
        "zh-CN": "已撤回人脸识别授权。",
        "en": "Your consent to face recognition was withdrawn.",
    },
    "acct_saved_face_given": {"zh-CN": "已同意人脸识别。", "en": "You consented to face recognition."},
    "acct_close_title": {"zh-CN": "注销账号", "en": "Close my account"},
    "acct_close_summary": {
        "zh-CN": "注销后账号无法恢复，您的个人信息将被删除，法律要求保存的操作记录除外。",
        "en": "A closed account cannot be restored; your personal information is erased except the activity "
              "log the law requires us to keep.",
    },
    "acct_close_ends": {
        "zh-CN": "您在所有设备上的登录立即退出，各应用获得的授权全部失效，并通知各应用。",
        "en": "You are signed out on every device at once; every application's access ends and the "
              "applications are told.",
    },
    "acct_close_erases": {
        "zh-CN": "删除：姓名、证件号码、手机号码、用户名、密码、涉税身份、授权记录、安全密钥、动态口令和人脸识别记录。",
        "en": "Erased: name, document and phone numbers, username, password, taxpayer roles, consents, "
              "security keys, app codes and face-recognition records.",
    },
    "acct_close_keeps": {
        "zh-CN": "保留：操作记录（证件号码和手机号码已隐去部分）在法定保存期限内保留，期满删除。",
        "en": "Kept: the activity log (document and phone numbers masked) for the period the law requires, "
              "then deleted.",
    },
    "acct_close_again": {
        "zh-CN": "注销后，您可以用同一证件和手机号码重新注册一个新账号。",
        "en": "You may register a new account with the same document and phone number afterwards.",
    },
    "acct_close_send_code": {"zh-CN": "发送验证码至{phone}", "en": "Send a code to {phone}"},
    "acct_close_confirm": {
        "zh-CN": "我已了解注销的后果，确认注销账号",
        "en": "I understand what closing does and want to close my account",
    },
    "acct_close_button": {"zh-CN": "确认注销", "en": "Close my account"},
    "acct_close_face_button": {"zh-CN": "刷脸确认注销", "en": "Confirm with a face scan and close"},
    "acct_back_privacy": {"zh-CN": "返回个人信息权利", "en": "Back to your personal information"},
    "acct_close_done_title": {"zh-CN": "账号已注销", "en": "Account closed"},
    "acct_close_done": {
        "zh-CN": "您的账号已注销，所有登录已退出，个人信息已删除。",
        "en": "Your account is closed: you are signed out everywhere and your personal information is erased.",
    },
}
