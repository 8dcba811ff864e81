"""Texts of the tax digital certificate (UKey) login."""

MESSAGES = {
    "certificate_login_link": {"zh-CN": "税务数字证书登录", "en": "Tax digital certificate (UKey)"},
    "certificate_title": {"zh-CN": "税务数字证书登录", "en": "Sign in with a tax digital certificate"},
    "certificate_instructions": {
        "zh-CN": "请插入税务数字证书（UKey）并确认本机证书助手已启动。"
                 "点击“读取证书并登录”后，证书助手会请您输入证书口令并签名。",
        "en": "Insert the tax digital certificate (UKey) and make sure the certificate assistant is running on "
              "this computer. After “Read certificate and sign in”, the assistant asks for the UKey PIN and signs.",
    },
    "certificate_start_button": {"zh-CN": "读取证书并登录", "en": "Read certificate and sign in"},
    "certificate_agent_missing": {
        "zh-CN": "未能连接本机证书助手，请确认已安装并启动后重试。",
        "en": "The certificate assistant on this computer did not answer; start it and try again.",
    },
    # What a taxpayer needs when the assistant is missing: where it comes from and whom to call.
    "certificate_help": {
        "zh-CN": "证书助手是随税务数字证书（UKey）提供的本机程序，请按证书发放单位的说明安装并启动。"
                 "如未安装或无法读取证书，请联系证书发放单位或主管税务机关，"
                 "也可拨打纳税缴费服务热线 {hotline}。",
        "en": "The certificate assistant is a program for this computer that comes with the tax digital "
              "certificate (UKey); install and start it as the certificate's issuer explains. If it is not "
              "installed or cannot read the certificate, contact the issuer or your tax office, or call the "
              "taxpayer hotline {hotline}.",
    },
    "certificate_person_title": {"zh-CN": "选择办税人员", "en": "Who is acting for the enterprise?"},
    "certificate_person_intro": {
        "zh-CN": "证书属于 {name}（{number}）。请选择本次办税的人员并验证身份。",
        "en": "The certificate belongs to {name} ({number}). Choose who is acting and verify that person.",
    },
    "certificate_person_none": {
        "zh-CN": "未查询到您与该企业的关联关系信息",
        "en": "Nobody is linked to this enterprise yet; a legal representative or financial officer adds people.",
    },
    "certificate_method_password": {"zh-CN": "个人密码", "en": "Personal password"},
    "certificate_method_sms": {"zh-CN": "短信验证码", "en": "SMS code"},
    "certificate_method_face": {"zh-CN": "人脸识别", "en": "Face check"},
    "certificate_password_label": {"zh-CN": "个人密码（选择“个人密码”时填写）",
                                   "en": "Personal password (when verifying by password)"},
    "error_certificate_invalid": {"zh-CN": "证书无效", "en": "The certificate is not valid."},
    "error_certificate_expired": {"zh-CN": "证书已过期或尚未生效",
                                  "en": "The certificate has expired or is not yet valid."},
    "error_certificate_untrusted": {"zh-CN": "证书不是由受信任的税务证书机构签发",
                                    "en": "The certificate was not issued by a trusted tax certificate authority."},
    "error_certificate_key_usage": {"zh-CN": "该证书不能用于登录签名",
                                    "en": "This certificate may not be used for signing in."},
    "error_certificate_revoked": {"zh-CN": "证书已被吊销", "en": "The certificate has been revoked."},
    "error_certificate_unavailable": {"zh-CN": "暂未开放数字证书登录",
                                      "en": "Certificate sign-in is not available."},
    "error_certificate_challenge_invalid": {"zh-CN": "登录请求已失效，请重试",
                                            "en": "The sign-in request expired or was already used; try again."},
    "error_certificate_malformed": {"zh-CN": "证书助手返回的数据无法识别",
                                    "en": "The certificate assistant sent data that cannot be read."},
    "error_certificate_signature_invalid": {"zh-CN": "证书签名验证失败",
                                            "en": "The certificate's signature did not verify."},
    "error_certificate_no_enterprise": {"zh-CN": "证书中没有统一社会信用代码",
                                        "en": "The certificate names no unified social credit code."},
    "error_certificate_unknown_enterprise": {"zh-CN": "未查询到证书对应的纳税人信息",
                                             "en": "No taxpayer is registered for this certificate."},
    "error_certificate_no_role": {"zh-CN": "未查询到您与该企业的关联关系信息",
                                  "en": "This person has no confirmed role at the certificate's enterprise."},
}
