// The login page's QR tab: count down, long-poll the code's status, finish the login once the
// phone approves.  No inline script: the page's CSP allows only scripts from this origin.
(function () {
  "use strict";
  var box = document.getElementById("qr-box");
  if (!box) { return; }
  var statusText = document.getElementById("qr-status");
  var countdown = document.getElementById("qr-countdown");
  var deadline = Date.now() + Number(box.dataset.expiresIn) * 1000;
  var finished = false;

  function show(status) {
    var text = box.dataset["text" + status.charAt(0).toUpperCase() + status.slice(1)];
    if (text) { statusText.textContent = text; }
    box.className = "qr-box qr-" + status;
  }

  function refresh() {
    finished = true;
    show("expired");
    window.location.replace(document.getElementById("qr-refresh").href);
  }

  function tick() {
    if (finished) { return; }
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = box.dataset.textCountdown.replace("{seconds}", String(left));
    if (left === 0) { refresh(); return; }
    window.setTimeout(tick, 1000);
  }

  function wait(since) {
    if (finished) { return; }
    fetch(box.dataset.statusUrl + "&since=" + encodeURIComponent(since),
          {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        deadline = Date.now() + answer.expires_in * 1000;
        if (answer.status === "approved") {
          finished = true;
          show("approved");
          document.getElementById("qr-complete").submit();
        } else if (answer.status === "denied") {
          finished = true;
          show("denied");
        } else if (answer.status === "expired" || answer.status === "unknown" || answer.status === "redeemed") {
          refresh();
        } else {
          show(answer.status);
          // The server could not wait this time (its waiting calls are all taken): ask again soon.
          window.setTimeout(function () { wait(answer.status); }, (answer.ask_again_in || 0) * 1000);
        }
      })
      .catch(function () { window.setTimeout(function () { wait(since); }, 1000); });
  }

  tick();
  wait("pending");
}());
