// Shouwang: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // "显示完整号码": ask first (the reveal is audited), then show the number in place.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("sw-reveal")) return;
    event.preventDefault();
    if (!window.confirm(form.dataset.confirm)) return;
    var target = document.getElementById(form.dataset.target);
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "Accept": "application/json" },
      credentials: "same-origin",
      cache: "no-store",
    }).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.json();
    }).then(function (data) {
      if (target) {
        target.textContent = data.id_number;
        target.classList.add("text-danger");
      }
      form.remove();
    }).catch(function () {
      window.alert(form.dataset.failed);
    });
  });

  // Filter selects submit the form on change, so a cadre needs no extra click.
  document.querySelectorAll("form.sw-autosubmit select").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
