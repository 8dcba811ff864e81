"""Texts of face verification: consent, results, the development provider's page."""

MESSAGES: dict[str, dict[str, str]] = {
    "use_face_instead": {"zh-CN": "使用刷脸验证", "en": "Verify with a face scan instead"},
    "use_sms_instead": {"zh-CN": "改用短信验证码", "en": "Use an SMS code instead"},
    "face_title": {"zh-CN": "人脸识别验证", "en": "Face verification"},
    "face_consent_title": {"zh-CN": "人脸信息处理告知与同意", "en": "Consent to face processing"},
    "face_consent_notice": {
        "zh-CN": "为核验您的身份，我们将把您的姓名、证件号码和现场采集的人脸图像提交给人脸识别服务进行比对。"
        "人脸图像属于敏感个人信息，仅用于本次身份核验，本系统不保存人脸图像，只保存核验结果。",
        "en": "To verify your identity, your name, document number and a live face image are sent to a face "
        "verification service for comparison. Face images are sensitive personal information, used only for "
        "this check; this system never stores them, only the result.",
    },
    "face_consent_alternative": {
        "zh-CN": "刷脸不是唯一方式：您随时可以使用“密码 + 短信验证码”登录。",
        "en": "A face scan is never the only way: you can always sign in with password + SMS code.",
    },
    "face_consent_agree": {"zh-CN": "同意并开始刷脸", "en": "I agree, start the face scan"},
    "step_up_title": {"zh-CN": "人脸识别验证", "en": "Face verification"},
    "step_up_why": {
        "zh-CN": "该业务需要人脸识别验证，请完成刷脸后继续办理。",
        "en": "This service needs a face verification; scan your face to continue.",
    },
    "step_up_for_app": {"zh-CN": "办理业务的应用：{app}", "en": "Asked by: {app}"},
    "step_up_no_password": {
        "zh-CN": "您已登录，无需再次输入密码。",
        "en": "You are signed in: your password is not asked again.",
    },
    "step_up_start": {"zh-CN": "开始刷脸", "en": "Start the face scan"},
    "step_up_cancel": {"zh-CN": "取消，返回应用", "en": "Cancel and go back to the application"},
    "face_try_again": {"zh-CN": "重新刷脸", "en": "Scan again"},
    "face_check_again": {"zh-CN": "我已完成刷脸，刷新结果", "en": "I have finished the scan: check the result"},
    "face_advice": {
        "zh-CN": "请确认能清晰拍摄人脸图像：环境光线不要过暗，画面中不要出现其他人脸。如确认无法完成实名核验，"
        "请前往线下办税服务厅进行实名信息采集。",
        "en": "Make sure your face can be captured clearly: enough light and no other faces in the frame. If "
        "verification keeps failing, please have your real-name information collected at a tax service hall.",
    },
    "error_face_failed": {"zh-CN": "人脸识别未通过", "en": "The face check did not pass."},
    "error_face_pending": {
        "zh-CN": "尚未收到刷脸结果，请完成刷脸后刷新",
        "en": "No face-check result yet; finish the scan, then check again.",
    },
    "error_face_expired": {
        "zh-CN": "本次刷脸已失效，请重新刷脸",
        "en": "This face check has expired or was already used; please scan again.",
    },
    "error_face_consent_required": {
        "zh-CN": "刷脸前需要您的单独同意",
        "en": "Your separate consent is needed before a face scan.",
    },
    "error_face_consent_withdrawn": {
        "zh-CN": "您已撤回人脸识别授权，无法刷脸。请使用密码和短信验证码；"
                 "如需再次刷脸，请在账户中心“个人信息权利”中重新授权。",
        "en": "You withdrew your consent to face recognition, so no face scan is possible. Use your password "
              "and an SMS code; to scan again, give consent again under “Your personal information” in the "
              "account centre.",
    },
    "error_face_unavailable": {
        "zh-CN": "人脸识别服务暂不可用，请改用短信验证码或稍后再试",
        "en": "Face verification is unavailable; use an SMS code or try again later.",
    },
    "error_wrong_credential_face": {"zh-CN": "人脸识别未通过", "en": "The face check did not pass."},
    "dev_face_title": {"zh-CN": "模拟人脸识别（开发环境）", "en": "Simulated face scan (development)"},
    "dev_face_note": {
        "zh-CN": "这是开发用的人脸识别服务，请选择本次刷脸的结果。",
        "en": "This is the development face provider: choose the outcome of this scan.",
    },
    "dev_face_pass": {"zh-CN": "刷脸通过", "en": "Pass"},
    "dev_face_fail": {"zh-CN": "比对不通过", "en": "Fail: face does not match"},
    "dev_face_no_liveness": {"zh-CN": "活体检测不通过", "en": "Fail: liveness check"},
}
