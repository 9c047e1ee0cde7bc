// Satchel dashboard: the little JavaScript every page needs (copy buttons, the CSRF token for
// scripts, confirmations). The product page's file list is in file_list.js. Every page works
// without it except file uploads with progress bars.
"use strict";

// Copy buttons (`data-copy`): hidden until this script can make them work. The Clipboard API
// exists only on secure pages (HTTPS or localhost); a dashboard reached over plain HTTP on a
// LAN address copies through a selected, off-screen text area instead.
function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    return navigator.clipboard.writeText(text);
  }
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.top = "-1000px";
  document.body.appendChild(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  return copied ? Promise.resolve() : Promise.reject(new Error("copy refused"));
}

document.querySelectorAll("button[data-copy]").forEach((button) => {
  button.hidden = false;
  const label = button.textContent;
  button.addEventListener("click", async () => {
    try {
      await copyText(button.dataset.copy);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
    setTimeout(() => { button.textContent = label; }, 2000);
  });
});

/** The session's CSRF token, for fetch requests. */
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Styles for "with script" and "without script" differ (the plain upload form, the picker).
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});

// --- Team page (issue 15, item 4): confirm before removing someone. ---
(function () {
  document.querySelectorAll("form[data-team-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-team-confirm"))) event.preventDefault();
    });
  });
})();
