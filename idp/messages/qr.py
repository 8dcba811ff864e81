"""Texts of QR scan login: the login page's QR tab and the approval API's refusals (docs/domain.md §1.11)."""

MESSAGES: dict[str, dict[str, str]] = {
    "qr_login_link": {"zh-CN": "扫码登录", "en": "QR login"},
    "qr_title": {"zh-CN": "扫码登录", "en": "Sign in with a QR code"},
    "qr_instructions": {
        "zh-CN": "请使用青岛税务APP、个人所得税APP或电子营业执照APP扫描二维码，并在手机上确认登录。",
        "en": "Scan the code with the Qingdao Tax app, the IIT app or the e-business licence app, "
        "then confirm on your phone.",
    },
    "qr_open_app": {"zh-CN": "打开青岛税务APP", "en": "Open the Qingdao Tax app"},
    "qr_svg_title": {"zh-CN": "登录二维码", "en": "Login QR code"},
    "qr_countdown": {"zh-CN": "二维码 {seconds} 秒后失效", "en": "The code expires in {seconds} s"},
    "qr_user_code_label": {"zh-CN": "无法扫码时，在APP中输入", "en": "Cannot scan? Type this in the app"},
    "qr_status_waiting": {"zh-CN": "等待扫码", "en": "Waiting for a scan"},
    "qr_status_scanned": {"zh-CN": "已扫码，请在手机上确认", "en": "Scanned: please confirm on your phone"},
    "qr_status_approved": {"zh-CN": "已确认，正在登录…", "en": "Confirmed: signing you in…"},
    "qr_status_denied": {"zh-CN": "您已在手机上取消本次登录", "en": "The login was declined on the phone."},
    "qr_status_expired": {"zh-CN": "二维码已失效，正在刷新…", "en": "The code expired: getting a new one…"},
    "qr_refresh": {"zh-CN": "刷新二维码", "en": "New QR code"},
    "qr_use_password": {"zh-CN": "密码登录", "en": "Sign in with a password"},
    "qr_login_failed": {
        "zh-CN": "扫码登录未完成，请重新扫码",
        "en": "The QR login did not complete; please scan a new code.",
    },
    "qr_landing_title": {"zh-CN": "扫码登录", "en": "QR login"},
    "qr_landing_text": {
        "zh-CN": "请打开青岛税务APP，使用“扫一扫”扫描电脑上的二维码，或在APP中输入网页上显示的手动输入码。",
        "en": "Open the Qingdao Tax app and scan the code shown on your computer, or type the code shown "
        "under it into the app.",
    },
    "qr_requester_self": {"zh-CN": "青岛市电子税务局 统一身份认证", "en": "Qingdao e-Tax Unified Login"},
    "qr_error_bad_request": {"zh-CN": "请求格式错误", "en": "Malformed request."},
    "qr_error_invalid_token": {
        "zh-CN": "APP登录状态已失效，请在APP中重新登录",
        "en": "The app's login has ended; please sign in to the app again.",
    },
    "qr_error_insufficient_scope": {
        "zh-CN": "此应用无权确认扫码登录",
        "en": "This app may not approve QR logins.",
    },
    "qr_error_invalid_assertion": {
        "zh-CN": "确认信息的签名无效或已过期",
        "en": "The signed approval is invalid or has expired.",
    },
    "qr_error_assertion_replayed": {
        "zh-CN": "该确认信息已使用过",
        "en": "This signed approval was already used.",
    },
    "qr_error_unknown_code": {
        "zh-CN": "二维码无效，请刷新网页上的二维码后重新扫描",
        "en": "Unknown code: refresh the QR code on the web page and scan again.",
    },
    "qr_error_too_many_attempts": {
        "zh-CN": "无效二维码尝试次数过多，请稍后再试",
        "en": "Too many unknown codes; please try again later.",
    },
    "qr_error_expired": {
        "zh-CN": "二维码已过期，请刷新网页上的二维码后重新扫描",
        "en": "The code has expired: refresh the QR code on the web page and scan again.",
    },
    "qr_error_already_scanned": {
        "zh-CN": "该二维码已被其他设备扫描",
        "en": "This code was already scanned by another device.",
    },
    "qr_error_not_scanned": {"zh-CN": "请先扫描二维码", "en": "Scan the code first."},
    "qr_error_already_decided": {"zh-CN": "该登录请求已处理", "en": "This login request was already decided."},
    "qr_error_app_session_too_weak": {
        "zh-CN": "APP登录的认证强度不足，请在APP中使用密码加短信验证码或刷脸登录后再扫码",
        "en": "The app's login is not strong enough: sign in to the app with password and SMS code or a "
        "face scan, then scan again.",
    },
    "qr_error_role_ended": {
        "zh-CN": "未查询到您与该企业的关联关系信息",
        "en": "No relationship between you and this enterprise was found.",
    },
    # docs/domain.md §1.11, in its own words.
    "qr_error_iit_not_eligible": {
        "zh-CN": "通过个人所得税APP扫码登录的前提是该纳税人在青岛市电子税务局和个人所得税APP上"
        "都完成了用户注册和实名认证，并已在个人所得税APP上登录",
        "en": "Logging in with the IIT app requires that you have registered and completed real-name "
        "verification both with the Qingdao e-tax service and in the IIT app, and are logged in to the IIT app.",
    },
    "qr_error_entity_not_registered": {
        "zh-CN": "该企业尚未在青岛市电子税务局登记",
        "en": "This enterprise is not registered with the Qingdao e-tax service.",
    },
    "qr_error_not_legal_representative": {
        "zh-CN": "未查询到您与该企业的关联关系信息：电子营业执照扫码登录须由企业的法定代表人确认",
        "en": "No relationship between you and this enterprise was found: an e-business licence login must be "
        "confirmed by the enterprise's legal representative.",
    },
}
