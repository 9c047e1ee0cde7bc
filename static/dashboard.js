// Satchel dashboard: the little JavaScript the pages need. Every page works without it
// except file uploads with progress bars.
"use strict";

// Copy buttons (`data-copy`): hidden until this script can make them work.
document.querySelectorAll("button[data-copy]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Select and copy";
    }
    setTimeout(() => { button.textContent = "Copy"; }, 2000);
  });
});

/** The session's CSRF token, for fetch requests. */
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}
