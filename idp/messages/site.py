"""Texts every page shares: the footer, and the pages that say where to go next when there is
nothing else to do (page not found, signed out)."""

MESSAGES: dict[str, dict[str, str]] = {
    "footer_operator": {"zh-CN": "主办单位：", "en": "Operated by: "},
    "footer_hotline": {"zh-CN": "纳税缴费服务热线：", "en": "Taxpayer hotline: "},
    "next_steps": {"zh-CN": "您可以：", "en": "You can:"},
    "go_home": {"zh-CN": "返回首页", "en": "Go to the home page"},
    "log_in_again": {"zh-CN": "重新登录", "en": "Sign in again"},
    "help_hotline": {
        "zh-CN": "如需帮助，请拨打纳税缴费服务热线 {hotline}。",
        "en": "For help, call the taxpayer hotline {hotline}.",
    },
    "not_found_text": {
        "zh-CN": "您访问的页面不存在或已失效，请检查网址是否正确。",
        "en": "The page you asked for does not exist or is no longer available; check the address.",
    },
    "logged_out_safety": {
        "zh-CN": "在公共电脑上办理业务后，请关闭浏览器。",
        "en": "If this is a shared computer, close the browser now.",
    },
    "logout_cancel": {"zh-CN": "取消，返回", "en": "Cancel, go back"},
}
