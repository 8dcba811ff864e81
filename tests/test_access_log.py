"""The access log (``idp.access``): one line per request that no path can break or fake (CWE-117),
without the query string. tests/test_serve_command.py reads it from both servers (and
tests/faults/test_observability.py its JSON form, request ids included); these read the records
in-process."""

from __future__ import annotations

import logging

import pytest

from idp.web.request_telemetry import escape_for_log


@pytest.fixture
def access_records(caplog):
    caplog.set_level(logging.INFO, logger="idp.access")
    return lambda: [r for r in caplog.records if r.name == "idp.access"]


@pytest.mark.parametrize(("raw", "logged"), [
    ("/a\nb", "/a\\nb"),
    ("/a\r\nb", "/a\\r\\nb"),
    ("/a\x1b[31mb", "/a\\x1b[31mb"),  # a terminal escape sequence
    ("/a\x85b", "/a\\x85b"),  # NEL, a C1 line break
    ("/a\u2028b", "/a\\u2028b"),  # Unicode line separator
    ('/a" 200 "b', '/a\\" 200 \\"b'),  # a quote would end the logged request line
    ("/a\\nb", "/a\\\\nb"),  # a written backslash stays distinguishable from an escape
    ("/税务/登录", "/税务/登录"),  # printable text is kept as it is
])
def test_escape_for_log_leaves_no_line_break_or_unescaped_quote(raw, logged):
    assert escape_for_log(raw) == logged


def test_each_request_logs_one_line_with_its_escaped_path_and_request_id(client, access_records):
    response = client.get("/nowhere%0d%0a6.6.6.6%20%22GET%20/account%22%20200?code=secret-code")
    [record] = access_records()
    line = record.getMessage()
    assert "\n" not in line and "\r" not in line
    assert line == '127.0.0.1 "GET /nowhere\\r\\n6.6.6.6 \\"GET /account\\" 200" 404 ' + line.rsplit(" ", 1)[1]
    assert "secret-code" not in line
    assert (record.method, record.status) == ("GET", response.status_code)


def test_a_utf8_path_is_logged_as_the_person_typed_it(client, access_records):
    client.get("/%E7%A8%8E%E5%8A%A1")
    assert access_records()[0].path == "/税务"
