"""Where a login goes once its second factor (app code, security key, face) was answered, shared by
the pages of those factors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import redirect, url_for
from flask.typing import ResponseReturnValue

from idp.login.password_steps import (
    LoginExpired,
    finish_second_factor,
    login_again_url,
    pending_login,
)
from idp.people.password_change import PasswordChangeRequired
from idp.protocol.interactions import resume_url

Refusal = TypeVar("Refusal", bound=Exception)


def finish_second_factor_page(method: str, response: str, refused: Callable[[Refusal], ResponseReturnValue],
                              refusals: tuple[type[Refusal], ...]) -> ResponseReturnValue:
    """Check ``response`` as the pending login's ``method`` factor, then go on to the relying party
    (or the account centre), to the forced password change (docs/domain.md §1.8), or back to the login page
    when the pending login is gone.  One of ``refusals`` is shown by ``refused``."""
    try:
        pending = pending_login()
        finish_second_factor(pending, method, response)
    except LoginExpired:
        return redirect(login_again_url())
    except PasswordChangeRequired:
        return redirect(url_for("password_change.change_page"))
    except refusals as error:
        return refused(error)
    return redirect(resume_url(pending.interaction) or url_for("account.home"))
