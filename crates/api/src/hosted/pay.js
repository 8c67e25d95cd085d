// Hosted payment page: validates the IBAN as it is typed and submits the payment.
(function () {
  "use strict";
  var verifyForm = document.getElementById("verify");
  if (verifyForm) {
    verifyForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var token = verifyForm.dataset.token;
      fetch("/api/v1/payment-sessions/" + token + "/verify/", { method: "POST" })
        .then(function (r) { return r.json(); })
        .then(function (b) {
          document.getElementById("result").textContent = b.status || b.detail;
          if (verifyForm.dataset.returnUrl && (b.status === "completed" || b.retry_allowed === false)) {
            var url = new URL(verifyForm.dataset.returnUrl);
            url.searchParams.set("session_token", token);
            url.searchParams.set("session_id", token);
            window.location.assign(url.toString());
          } else if (b.status !== "completed") {
            window.location.reload();
          }
        });
    });
  }
  var form = document.getElementById("pay");
  if (!form) return;
  var token = form.dataset.token;
  var returnUrl = form.dataset.returnUrl;
  var ibanStatus = document.getElementById("iban-status");
  var result = document.getElementById("result");

  function post(path, body, auth) {
    var headers = { "Content-Type": "application/json" };
    if (auth) headers.Authorization = "Bearer " + token;
    return fetch(path, { method: "POST", headers: headers, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }

  form.iban.addEventListener("change", function () {
    post("/api/v1/iban-validate/", { iban: form.iban.value }, true).then(function (r) {
      if (r.status !== 200) { ibanStatus.textContent = ""; return; }
      ibanStatus.textContent = r.body.valid ? [r.body.bank_name, r.body.bic].filter(Boolean).join(" · ") : r.body.error;
    });
  });

  function finish() {
    if (!returnUrl) return;
    var url = new URL(returnUrl);
    url.searchParams.set("session_token", token);
    url.searchParams.set("session_id", token);
    window.location.assign(url.toString());
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    if (!form.accept.checked) { result.textContent = "Please accept the mandate."; return; }
    form.querySelector("button").disabled = true;
    post("/api/v1/payment-sessions/" + token + "/pay/", {
      iban: form.iban.value, iban_holder_name: form.holder.value
    }, false).then(function (r) {
      var b = r.body;
      if (b.verification_url) { window.location.assign(b.verification_url); return; }
      if (b.status === "completed" || b.status === "failed") { result.textContent = b.status; finish(); return; }
      result.textContent = (b.error_details && b.error_details.message) || b.detail || b.status;
      form.querySelector("button").disabled = false;
    });
  });
})();
