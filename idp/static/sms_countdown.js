// The SMS step's "重新发送验证码": disabled while the resend cooldown runs, with the seconds left.
// Only a convenience: without script the button stays usable and the server's cooldown answers.
(function () {
  "use strict";
  var form = document.getElementById("sms-resend-form");
  if (!form) { return; }
  var button = document.getElementById("sms-resend");
  var wait = document.getElementById("sms-resend-wait");
  var deadline = Date.now() + Number(form.dataset.wait || 0) * 1000;

  function tick() {
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    button.disabled = left > 0;
    wait.textContent = left > 0 ? form.dataset.textWait.replace("{seconds}", String(left)) : "";
    if (left > 0) { window.setTimeout(tick, 1000); }
  }

  tick();
}());
