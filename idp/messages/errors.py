"""Texts of the error pages (docs/architecture.md §12.1): what went wrong in plain words, the ways on
(back to the application, sign in again, start the step again; the hotline is ``help_hotline`` of site.py) and, last and
small, the protocol's error code."""

MESSAGES: dict[str, dict[str, str]] = {
    "error_bad_request_title": {"zh-CN": "请求无效", "en": "Invalid request"},
    "error_bad_request": {
        "zh-CN": "应用发来的登录请求无效，无法继续登录。请回到您使用的应用，重新发起登录。",
        "en": "The application sent a sign-in request that cannot be completed. Please go back to the "
              "application you came from and sign in again.",
    },
    "error_csrf_title": {"zh-CN": "页面已过期", "en": "This page has expired"},
    "error_csrf": {
        "zh-CN": "为保护您的账号安全，刚才提交的内容未被处理。请重新开始这一步。",
        # The title already says the page expired (error_csrf_title): the message says what follows.
        "en": "To protect your account, what you sent was not processed. Please start this step again.",
    },
    # The same refusal told to a page's script (web/error_pages.py:PageExpired): one text, so it says both.
    "error_page_expired": {
        "zh-CN": "页面已过期，刚才的操作未被处理。请重新开始这一步。",
        "en": "This page has expired; what you did was not processed. Please start this step again.",
    },
    "error_not_found": {"zh-CN": "页面不存在", "en": "Page not found"},
    "error_internal": {"zh-CN": "系统繁忙，请稍后再试", "en": "Something went wrong; please try again later."},
    "error_unavailable_title": {"zh-CN": "系统暂时无法使用", "en": "Temporarily unavailable"},
    "error_unavailable": {
        "zh-CN": "系统暂时无法使用，请稍后再试。",
        "en": "The service is temporarily unavailable; please try again in a moment.",
    },
    "error_page_code": {"zh-CN": "错误代码：", "en": "Error code: "},
    "error_return_to_app": {"zh-CN": "返回应用", "en": "Back to the application"},
    "error_restart_step": {"zh-CN": "重新开始这一步", "en": "Start this step again"},
}
