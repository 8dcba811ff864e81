"""What every page carries and the pages with nothing else to do (issue 18, finding 14): the
footer with the operator, the hotline and the filing numbers a government site shows; a page
not found and the signed-out page that say where to go next."""

from __future__ import annotations

import dataclasses

from conftest import csrf_from, last_sms_code, submit_password, submit_sms_code


def test_every_page_names_the_operator_and_the_hotline_and_no_filing_number_until_one_is_set(client):
    page = client.get("/login").get_data(as_text=True)
    assert "主办单位：国家税务总局青岛市税务局" in page
    assert '纳税缴费服务热线：<a href="tel:12366" id="hotline">12366</a>' in page
    assert "icp-filing" not in page and "public-security-filing" not in page


def test_the_filing_numbers_appear_once_the_operator_sets_them(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "IDP", dataclasses.replace(
        app.config["IDP"], FOOTER_ICP_FILING="鲁ICP备12345678号",
        FOOTER_PUBLIC_SECURITY_FILING="鲁公网安备37020202000001号"))
    page = client.get("/register").get_data(as_text=True)
    assert '<span id="icp-filing">鲁ICP备12345678号</span>' in page
    assert '<span id="public-security-filing">鲁公网安备37020202000001号</span>' in page


def test_a_page_that_does_not_exist_offers_the_home_page_a_new_login_and_the_hotline(client):
    response = client.get("/no-such-page")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "页面不存在" in page
    assert 'href="/" id="go-home">返回首页' in page and 'id="log-in">重新登录' in page
    assert "如需帮助，请拨打纳税缴费服务热线 12366。" in page


def test_after_signing_out_the_page_offers_a_new_login(app, client, person):
    submit_password(client)
    submit_sms_code(client, last_sms_code(app))
    account = client.get("/account").get_data(as_text=True)
    page = client.post("/logout", data={"csrf_token": csrf_from(account)}).get_data(as_text=True)
    assert "您已安全退出。" in page
    assert 'href="/login" id="log-in-again">重新登录' in page
    assert "12366" in page
    assert client.get("/account").headers["Location"] == "/login"


def test_the_registration_start_marks_the_documents_that_need_an_issuing_country(client):
    page = client.get("/register").get_data(as_text=True)
    assert '<option value="FOREIGN_PASSPORT" data-needs-country>' in page
    assert '<option value="ID_CARD" data-needs-country' not in page
    assert 'id="country-field"' in page  # shown without JavaScript; the script hides it for an ID card
