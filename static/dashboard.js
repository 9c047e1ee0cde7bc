// Satchel dashboard: the little JavaScript the pages need. Every page works without it
// except file uploads with progress bars.
"use strict";

/** The session's CSRF token, for fetch requests. */
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}
