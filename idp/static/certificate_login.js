// Tax digital certificate login: ask the provider for a challenge, have the local signing agent
// sign it with the UKey, post the answer back (contract: docs/certificate-login.md).
(function () {
  "use strict";
  const box = document.getElementById("certificate-login");
  const error = document.getElementById("error");
  const restart = document.getElementById("certificate-restart");
  if (!box) { return; }

  function show(message) {
    error.textContent = message;
    error.hidden = false;
  }

  // The provider's refusal in the app API shape (docs/architecture.md §12.1). An expired page
  // (its browser session ended) cannot try again: only a fresh copy of it can.
  function refused(body) {
    show(body.message);
    restart.hidden = body.error !== "page_expired";
  }

  // Every answer of the provider's is JSON, its refusals included (docs/architecture.md §12.1);
  // no answer at all, or another's (a proxy's page), still tells the person something.
  async function postJson(url, body, headers) {
    try {
      const response = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: Object.assign({ "Content-Type": "application/json" }, headers || {}),
        body: JSON.stringify(body),
      });
      return { ok: response.ok, body: await response.json() };
    } catch (e) {
      return { ok: false, body: { message: box.dataset.noAnswer } };
    }
  }

  document.getElementById("certificate-start").addEventListener("click", async function () {
    error.hidden = true;
    restart.hidden = true;
    const csrf = { "X-CSRFToken": box.dataset.csrf };
    const issued = await postJson(box.dataset.challenge, {}, csrf);
    if (!issued.ok) {
      refused(issued.body);
      return;
    }
    let signed;
    try {
      // The agent answers {"certificate_chain": [...], "signature": "...", "challenge": "..."}.
      const agent = await fetch(box.dataset.agent.replace(/\/$/, "") + "/sign", {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ challenge: issued.body.challenge, origin: window.location.origin }),
      });
      signed = await agent.json();
    } catch (e) {
      show(box.dataset.agentMissing);
      return;
    }
    const result = await postJson(box.dataset.submit, signed, csrf);
    if (result.ok) {
      window.location.assign(result.body.next);
    } else {
      refused(result.body);
    }
  });
})();
