"""Texts of self-registration (docs/domain.md §5, §1.3-§1.7, §1.13): the pages, and the app API's error messages."""

MESSAGES: dict[str, dict[str, str]] = {
    "registration_intro": {
        "zh-CN": "自然人用户注册需完成身份信息校验、基本信息填写和人脸识别认证。",
        "en": "Registering as a natural person takes an identity check, your basic information and a face "
        "verification.",
    },
    "registration_doc_type_label": {"zh-CN": "证件类型", "en": "Identity document"},
    "registration_doc_number_label": {"zh-CN": "证件号码", "en": "Document number"},
    "registration_country_label": {
        "zh-CN": "签发国家三位字母代码（仅外国护照填写，如 USA）",
        "en": "Issuing country, three letters (foreign passports only, such as USA)",
    },
    "registration_name_label": {"zh-CN": "姓名（与证件一致）", "en": "Name (as on the document)"},
    "registration_hall_first_note": {
        "zh-CN": "使用外国护照或外国人工作许可证（A类、B类、C类）的，请先前往办税服务场所采集实名信息，再完成注册。",
        "en": "Holders of a foreign passport or a foreigner's work permit (A, B or C) first have their real-name "
        "information collected at a tax service hall, then register here.",
    },
    "registration_steps_label": {"zh-CN": "注册步骤", "en": "Registration steps"},
    "registration_step_document": {"zh-CN": "证件", "en": "ID"},
    "registration_step_phone": {"zh-CN": "手机", "en": "Phone"},
    "registration_step_username": {"zh-CN": "用户名", "en": "Username"},
    "registration_step_password": {"zh-CN": "密码", "en": "Password"},
    "registration_step_face": {"zh-CN": "刷脸", "en": "Face"},
    "registration_step_done": {"zh-CN": "完成", "en": "Done"},
    "registration_phone_title": {"zh-CN": "验证手机号码", "en": "Verify your phone"},
    "registration_phone_label": {"zh-CN": "手机号码", "en": "Mobile phone number"},
    "registration_send_code": {"zh-CN": "获取短信验证码", "en": "Send me a code"},
    "registration_change_phone": {"zh-CN": "更换号码", "en": "Use another number"},
    "registration_verify_phone": {"zh-CN": "验证并继续", "en": "Verify and continue"},
    "registration_username_title": {"zh-CN": "设置用户名（可选）", "en": "Choose a username (optional)"},
    "registration_username_label": {"zh-CN": "用户名", "en": "Username"},
    "registration_username_rule": {
        "zh-CN": "4-20位字母、数字或下划线，不能全为数字，不能是手机号码。"
        "也可以以后在账户中心设置，用户名一年可修改一次。",
        "en": "4 to 20 letters, digits or underscores; not digits only and not a phone number. You can also add "
        "one later in the account centre; a username can be changed once a year.",
    },
    "registration_username_skip": {"zh-CN": "跳过，暂不设置", "en": "Skip for now"},
    "registration_password_title": {"zh-CN": "设置个人用户密码", "en": "Choose your personal password"},
    "registration_password_confirm_label": {"zh-CN": "再次输入密码", "en": "Repeat the password"},
    "registration_password_rule": {
        "zh-CN": "8-16位，至少包含数字、字母、符号（.@$%*#_+-&^）中的两种，不能包含证件号码。",
        "en": "8 to 16 characters with at least two of digits, letters and the symbols .@$%*#_+-&^; it cannot "
        "contain your document number.",
    },
    "registration_face_why": {
        "zh-CN": "注册需一并完成实名认证：通过人脸识别后，您的账户实名等级为四级。",
        "en": "Registration includes real-name verification: after the face check your account is at "
        "real-name level 4.",
    },
    "registration_face_alternative": {
        "zh-CN": "如无法完成刷脸，可前往线下办税服务厅进行实名信息采集，采集后再通过电子税务局完成注册。",
        "en": "If the face scan is not possible for you, have your real-name information collected at a tax "
        "service hall, then complete the registration here.",
    },
    "registration_face_start": {"zh-CN": "开始刷脸", "en": "Start the face scan"},
    "registration_hall_title": {"zh-CN": "请前往办税服务厅", "en": "Please visit a tax service hall"},
    "registration_done_title": {"zh-CN": "注册成功", "en": "You are registered"},
    "registration_done": {
        "zh-CN": "注册成功！请通过自然人业务入口登录电子税务局，可使用证件号码、手机号码或用户名加个人用户密码登录。",
        "en": "Registration complete. Sign in through the natural-person entry with your document number, phone "
        "number or username and your personal password.",
    },
    "registration_done_level": {"zh-CN": "您的实名认证等级：{level}。", "en": "Your real-name level: {level}."},
    "realname_level_1": {"zh-CN": "一级", "en": "1"},
    "realname_level_2": {"zh-CN": "二级", "en": "2"},
    "realname_level_3": {"zh-CN": "三级", "en": "3"},
    "realname_level_4": {"zh-CN": "四级", "en": "4"},
    "realname_level_5": {"zh-CN": "五级", "en": "5"},
    "registration_done_signed_in": {
        "zh-CN": "您已登录，可继续办理刚才的业务。",
        "en": "You are signed in and can continue where you left off.",
    },
    "registration_continue": {"zh-CN": "继续", "en": "Continue"},
    "registration_go_login": {"zh-CN": "前往自然人业务登录", "en": "Go to the natural-person sign-in"},
    "registration_restart": {"zh-CN": "重新开始注册", "en": "Start the registration again"},
    "registration_forgot_password": {
        "zh-CN": "忘记密码请在登录页点击“忘记密码”。",
        "en": "Forgot your password? Use “Forgot password” on the sign-in page.",
    },
    "error_registration_name": {
        "zh-CN": "请输入与证件一致的姓名",
        "en": "Enter your name as it is written on the document.",
    },
    "error_registration_already_registered": {
        "zh-CN": "该证件已注册电子税务局账户，请直接通过自然人业务入口登录；"
        "如忘记密码，请在登录页使用“忘记密码”设置新密码。",
        "en": "This document already has an account: sign in through the natural-person entry, or use "
        "“Forgot password” on the sign-in page to set a new password.",
    },
    "error_registration_hall_first": {
        "zh-CN": "使用外国护照、外国人工作许可证（A类、B类、C类）的，"
        "请先前往办税服务场所采集实名信息，再通过电子税务局完成用户注册。",
        "en": "With a foreign passport or a foreigner's work permit (A, B or C), please first have your real-name "
        "information collected at a tax service hall, then complete the registration on the e-tax site.",
    },
    "error_registration_hall_record_name": {
        "zh-CN": "填写的姓名与办税服务场所采集的实名信息不一致，请按证件上的姓名填写。",
        "en": "This name differs from the real-name information the service hall collected; enter it as on "
        "the document.",
    },
    "error_registration_hall_record_phone": {
        "zh-CN": "请使用在办税服务场所登记的手机号码。",
        "en": "Please use the phone number you gave at the service hall.",
    },
    "error_registration_hall_record_expired": {
        "zh-CN": "办税服务场所采集的实名信息已过期，请重新前往采集后再注册。",
        "en": "The real-name information collected at the service hall has lapsed; please have it collected "
        "again, then register.",
    },
    "error_registration_expired": {
        "zh-CN": "注册已超时或不存在，请重新开始注册。",
        "en": "This registration has expired or does not exist; please start again.",
    },
    "error_registration_wrong_step": {
        "zh-CN": "请按顺序完成注册步骤。",
        "en": "Please complete the registration steps in order.",
    },
    "error_registration_phone_format": {
        "zh-CN": "请输入11位手机号码",
        "en": "Enter an 11-digit mainland mobile number.",
    },
    "error_registration_phone_taken": {
        "zh-CN": "该手机号码已被其他账户使用，请更换手机号码；如是您本人的账户，请直接登录。",
        "en": "This phone number belongs to another account; use another number, or sign in if the account is "
        "yours.",
    },
    "error_registration_code_not_sent": {
        "zh-CN": "请先获取短信验证码",
        "en": "Request an SMS code first.",
    },
    "error_registration_password_mismatch": {
        "zh-CN": "两次输入的密码不一致",
        "en": "The two passwords differ.",
    },
    "error_registration_conflict": {
        "zh-CN": "证件、手机号码或用户名已被其他账户使用，本次注册未创建账户，请重新注册。",
        "en": "The document, phone number or username was just taken by another account; no account was "
        "created. Please register again.",
    },
    "error_registration_face_failed": {
        "zh-CN": "人脸识别未通过，您还可以再试 {attempts_left} 次。",
        "en": "The face check did not pass; you can try {attempts_left} more time(s).",
    },
    "error_registration_face_hall_route": {
        "zh-CN": "多次刷脸未通过，无法在线完成实名核验。"
        "请前往线下办税服务大厅进行实名信息采集，采集后再通过电子税务局完成用户注册。",
        "en": "The face check failed several times, so real-name verification cannot be completed online. "
        "Please have your real-name information collected at a tax service hall, then complete the "
        "registration on the e-tax site.",
    },
    "error_registration_bad_request": {
        "zh-CN": "请求格式不正确",
        "en": "The request is not valid JSON of the expected shape.",
    },
}
