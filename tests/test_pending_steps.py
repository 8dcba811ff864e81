"""One flow's pending step in the browser session (docs/architecture.md §5.3): read only while live
and at the step asked for; one expiry for the whole flow; answered once."""

from __future__ import annotations

import time
import types

from flask import session

from idp.protocol.pending_steps import PendingSteps

FLOW = PendingSteps("example_flow", ttl=lambda: 60)


def test_a_step_reads_while_live_and_at_its_step(app):
    with app.test_request_context():
        FLOW.start("verify", "interaction-1", person_id=7)
        record = FLOW.read("verify")
        assert record is not None and record["person_id"] == 7 and record.interaction_id == "interaction-1"
        assert FLOW.read("new_password") is None  # a step cannot be skipped to
        FLOW.advance("new_password", verified_by="sms")
        moved = FLOW.read("new_password")
        assert moved is not None and moved["verified_by"] == "sms" and moved.expires == record.expires
        assert FLOW.finish() is not None and FLOW.finish() is None and FLOW.read() is None


def test_an_expired_step_reads_as_none_but_keeps_its_interaction(app, monkeypatch):
    with app.test_request_context():
        FLOW.start("verify", "interaction-1")
        monkeypatch.setattr("idp.protocol.pending_steps.time", types.SimpleNamespace(time=lambda: time.time() + 61))
        assert FLOW.read() is None and FLOW.finish() is None
        FLOW.start("verify", "interaction-2")
        monkeypatch.undo()
        assert FLOW.interaction_id() == "interaction-2"


def test_a_record_from_before_the_pending_step_api_reads_as_none(app):
    """A browser mid-login during an upgrade starts that login again instead of getting an error."""
    with app.test_request_context():
        session["example_flow"] = {"person_id": 7, "interaction": None, "expires": int(time.time()) + 60}
        assert FLOW.read() is None and FLOW.read("verify") is None and FLOW.finish() is None
