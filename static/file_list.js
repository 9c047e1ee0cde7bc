// Satchel dashboard: a product's delivery file list (uploads with progress, Cancel, reorder by
// dragging or with the buttons, display names that keep their extension). Loaded after
// dashboard.js, whose csrfToken() it uses; without scripts the plain form still works.

/** `1536` → `1.5 KB`, as the server writes sizes (decimal units). */
function humanSize(bytes) {
  if (bytes < 1000) return `${bytes} bytes`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

// --- issue 15 (uploads): extensions, progress words --------------------------------------
/** The extension of a file name, as the server reads it (`src/domain/delivery_files.rs`):
 *  1 to 8 letters or digits, one a letter, after a last dot with something before it. */
function extensionOf(name) {
  const trimmed = name.trim();
  const dot = trimmed.lastIndexOf(".");
  if (dot <= 0 || trimmed.slice(0, dot).trim() === "") return null;
  const ext = trimmed.slice(dot + 1);
  return /^[A-Za-z0-9]{1,8}$/.test(ext) && /[A-Za-z]/.test(ext) ? ext : null;
}

/** `3 s`, `2 min`, `1 h 5 min`: how long is left, rounded the way people say it. */
function humanDuration(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const hours = Math.floor(seconds / 3600);
  return `${hours} h ${Math.round((seconds - hours * 3600) / 60)} min`;
}

/** The words under an upload's progress bar: bytes done of the total, the speed, time left.
 *  The speed is smoothed over the last seconds, so the estimate does not jump around. */
function progressMeter(row, size) {
  const text = row.querySelector("[data-progress-text]");
  text.hidden = false;
  text.textContent = `0 bytes of ${humanSize(size)}`;
  let last = { at: performance.now(), loaded: 0 };
  let speed = 0;
  return {
    update(loaded, total) {
      const now = performance.now();
      const seconds = (now - last.at) / 1000;
      if (seconds >= 0.25 || loaded >= total) {
        const recent = (loaded - last.loaded) / Math.max(seconds, 0.001);
        speed = speed === 0 ? recent : speed * 0.7 + recent * 0.3;
        last = { at: now, loaded };
      }
      const parts = [`${humanSize(loaded)} of ${humanSize(total)}`];
      if (speed > 0) {
        parts.push(`${humanSize(Math.round(speed))}/s`);
        parts.push(loaded >= total ? "finishing…" : `${humanDuration((total - loaded) / speed)} left`);
      }
      text.textContent = parts.join(" · ");
    },
  };
}

// --- end of issue 15 (uploads) -----------------------------------------------------------

/** Why an upload request failed, in words the merchant can act on. */
function uploadFailure(xhr, limitText) {
  switch (xhr.status) {
    case 0:
      return "The connection was lost. Remove this file and try again.";
    case 401:
      return "Your session has ended. Sign in again (in another tab), then remove this file and retry.";
    case 403:
      return "This page is out of date. Reload it and try again.";
    case 413:
      return `This file is larger than the limit of ${limitText}.`;
  }
  try {
    return JSON.parse(xhr.responseText).error.message;
  } catch {
    return `The upload failed (${xhr.status}). Remove this file and try again.`;
  }
}

// --- issue 15 (uploads): dragging rows and keeping extensions ---------------------------
/** Drag a file row by its number to move it (`moved` renumbers the list, `describe` says
 *  where the row went); the Move up / Move down buttons stay for keyboards. */
function setUpDragging(list, moved, describe, announcer) {
  let dragged = null;
  list.addEventListener("dragstart", (event) => {
    const handle = event.target.closest && event.target.closest("[data-pos]");
    if (!handle) return;
    dragged = handle.closest("[data-file-row]");
    dragged.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.querySelector("[data-name-input]").value);
    event.dataTransfer.setDragImage(dragged, 16, 16);
  });
  list.addEventListener("dragover", (event) => {
    if (!dragged) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    const over = event.target.closest("[data-file-row]");
    if (!over || over === dragged) return;
    const box = over.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextElementSibling : over);
  });
  list.addEventListener("drop", (event) => {
    if (dragged) event.preventDefault();
  });
  list.addEventListener("dragend", () => {
    if (!dragged) return;
    const row = dragged;
    dragged = null;
    row.classList.remove("is-dragging");
    moved();
    announcer.textContent = describe(row);
  });
  // Number handles are draggable only with the script (the attribute is set here).
  const makeDraggable = () => list.querySelectorAll("[data-pos]").forEach((pos) => { pos.draggable = true; });
  new MutationObserver(makeDraggable).observe(list, { childList: true });
  makeDraggable();
}

/** A display name edited without an extension keeps the one it had ("Guide" for "guide.pdf"
 *  becomes "Guide.pdf"); the server does the same when the form is saved. */
function keepExtensions(list, announcer) {
  list.addEventListener("focusin", (event) => {
    const input = event.target.closest("[data-name-input]");
    if (input) input.dataset.extension = extensionOf(input.value) || "";
  });
  list.addEventListener("change", (event) => {
    const input = event.target.closest("[data-name-input]");
    if (!input) return;
    const ext = input.dataset.extension;
    const name = input.value.trim();
    if (ext && name !== "" && !extensionOf(name)) {
      input.value = `${name}.${ext}`;
      announcer.textContent = `The file keeps its .${ext} extension: ${input.value}.`;
    }
  });
}
// --- end of issue 15 (uploads) -----------------------------------------------------------

/**
 * The delivery file list on a product's edit page. Files upload at once, one request each,
 * the File itself as the raw body (the browser streams it from disk), with a progress bar.
 * The list is plain form fields (hidden `file_id` + `display_name`, in page order), so
 * "Update product" posts one consistent list; moving and removing only rearrange them.
 */
function setUpFileList(form) {
  const list = form.querySelector("[data-file-list]");
  const template = document.getElementById("file-row-template");
  if (!list || !template) return;
  const maxFiles = Number(list.dataset.maxFiles);
  const maxBytes = Number(list.dataset.maxBytes);
  const limitText = list.dataset.maxBytesText;
  const picker = document.getElementById("file-picker");
  const dropzone = form.querySelector("[data-dropzone]");
  const counter = form.querySelector("[data-file-count]");
  const limitMessage = form.querySelector("[data-files-limit]");
  const empty = form.querySelector("[data-files-empty]");
  const saveBlocked = form.querySelector("[data-save-blocked]");
  const dragHint = form.querySelector("[data-drag-hint]");
  const announcer = document.createElement("p");
  announcer.className = "visually-hidden";
  announcer.setAttribute("aria-live", "polite");
  form.append(announcer);
  const inFlight = new Map(); // row → XMLHttpRequest
  let refusal = "";

  const rows = () => Array.from(list.querySelectorAll("[data-file-row]"));
  // Failed uploads stay visible (with their reason) but are not part of the delivery.
  const listed = () => rows().filter((row) => row.dataset.state !== "failed");
  const nameOf = (row) => row.querySelector("[data-name-input]").value;

  /** Numbers every row's ids, labels and buttons after a change, and updates the counter. */
  function renumber() {
    const all = rows();
    all.forEach((row, i) => {
      const n = i + 1;
      row.querySelector("[data-pos]").textContent = String(n);
      const input = row.querySelector("[data-name-input]");
      const error = row.querySelector("[data-row-error]");
      const progress = row.querySelector("[data-progress]");
      const progressLabel = row.querySelector("[data-progress-label]");
      input.id = `display-name-${n}`;
      row.querySelector("[data-name-label]").htmlFor = input.id;
      row.querySelector("[data-facts]").id = `file-facts-${n}`;
      error.id = `file-error-${n}`;
      input.setAttribute("aria-describedby", error.hidden ? `file-facts-${n}` : `file-facts-${n} file-error-${n}`);
      progress.id = `file-progress-${n}`;
      progressLabel.htmlFor = progress.id;
      progressLabel.textContent = `Upload progress for file ${n}`;
      for (const span of row.querySelectorAll("[data-n-text]")) {
        span.textContent = span.closest("label") ? ` for file ${n}` : ` file ${n}`;
      }
      for (const button of row.querySelectorAll("[data-action]")) {
        button.value = `${button.dataset.action}-${n}`;
      }
      row.querySelector('[data-action="up"]').disabled = i === 0;
      row.querySelector('[data-action="down"]').disabled = i === all.length - 1;
    });
    const count = listed().length;
    if (dragHint) dragHint.hidden = all.length < 2;
    counter.textContent = `${count} of ${maxFiles} files`;
    empty.hidden = all.length > 0;
    const full = count >= maxFiles;
    picker.disabled = full;
    dropzone.classList.toggle("is-full", full);
    const message = refusal || (full ? `This product has the maximum of ${maxFiles} files: remove one to add another.` : "");
    limitMessage.textContent = message;
    limitMessage.hidden = message === "";
  }

  function newRow(displayName, facts) {
    const row = template.content.querySelector("[data-file-row]").cloneNode(true);
    row.querySelector("[data-name-input]").value = displayName;
    row.querySelector("[data-facts]").textContent = facts;
    list.append(row);
    return row;
  }

  function showRowError(row, message) {
    const error = row.querySelector("[data-row-error]");
    error.textContent = message;
    error.hidden = message === "";
    row.classList.toggle("has-error", message !== "");
  }

  function fail(row, message) {
    inFlight.delete(row);
    row.querySelector("[data-progress-text]").hidden = true;
    row.querySelector("[data-cancel]").hidden = true;
    row.dataset.state = "failed";
    // Not part of the delivery: its fields are not sent.
    row.querySelector("[data-file-id]").disabled = true;
    row.querySelector("[data-name-input]").disabled = true;
    const status = row.querySelector("[data-status]");
    status.textContent = "Upload failed";
    status.className = "file-status is-failed";
    showRowError(row, message);
    renumber();
    settle();
  }

  function settle() {
    if (inFlight.size === 0) saveBlocked.hidden = true;
  }

  function upload(file) {
    const row = newRow(file.name, humanSize(file.size));
    row.dataset.state = "uploading";
    row.querySelector("[data-upload]").hidden = false;
    const progress = row.querySelector("[data-progress]");
    const status = row.querySelector("[data-status]");
    status.textContent = "0%";
    if (file.size > maxBytes) {
      fail(row, `This file is larger than the limit of ${limitText}.`);
      return;
    }
    const xhr = new XMLHttpRequest();
    inFlight.set(row, xhr);
    xhr.open("POST", `/dashboard/uploads?filename=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    const meter = progressMeter(row, file.size);
    xhr.upload.onprogress = (event) => {
      if (!event.lengthComputable) return;
      // 100% only once the server has the whole file and said so.
      const percent = Math.min(99, Math.floor((event.loaded * 100) / event.total));
      progress.value = percent;
      status.textContent = `${percent}%`;
      meter.update(event.loaded, event.total);
    };
    row.querySelector("[data-cancel]").addEventListener("click", () => cancelUpload(row, file.name));
    xhr.onload = () => {
      if (xhr.status !== 200 && xhr.status !== 201) {
        fail(row, uploadFailure(xhr, limitText));
        return;
      }
      const stored = JSON.parse(xhr.responseText);
      const twin = listed().find((other) => other !== row && other.querySelector("[data-file-id]").value === stored.id);
      if (twin) {
        fail(row, `The same file is already in the list, as “${nameOf(twin)}”.`);
        return;
      }
      inFlight.delete(row);
      row.querySelector("[data-progress-text]").hidden = true;
      row.querySelector("[data-cancel]").hidden = true;
      row.querySelector("[data-file-id]").value = stored.id;
      row.querySelector("[data-facts]").textContent = stored.facts;
      row.dataset.state = "uploaded";
      progress.value = 100;
      status.textContent = "Uploaded";
      status.className = "file-status is-done";
      announcer.textContent = `${file.name} uploaded.`;
      settle();
    };
    xhr.onerror = () => fail(row, uploadFailure(xhr, limitText));
    xhr.send(file);
  }

  // --- issue 15 (uploads): Cancel upload; dragging and extensions (above) ------------------

  /** "Cancel upload": aborts the request (the server then discards what it staged: nothing of
   *  a cut-off upload is kept) and takes the row off the list. */
  function cancelUpload(row, name) {
    const xhr = inFlight.get(row);
    inFlight.delete(row);
    if (xhr) xhr.abort();
    const next = row.nextElementSibling || row.previousElementSibling;
    row.remove();
    refusal = "";
    renumber();
    settle();
    announcer.textContent = `Upload of ${name} cancelled: nothing was kept.`;
    (next ? next.querySelector("[data-name-input]") : picker).focus();
  }

  const whereTo = (row) => `${nameOf(row)} moved to position ${rows().indexOf(row) + 1}.`;
  setUpDragging(list, renumber, whereTo, announcer);
  keepExtensions(list, announcer);
  // --- end of issue 15 (uploads) -------------------------------------------------------------

  function addFiles(files) {
    const chosen = Array.from(files);
    if (chosen.length === 0) return;
    const room = Math.max(0, maxFiles - listed().length);
    const refused = chosen.slice(room);
    refusal = "";
    if (refused.length > 0) {
      const names = refused.map((f) => `“${f.name}”`).join(", ");
      refusal =
        `A product can deliver at most ${maxFiles} files: ${names} ` +
        `${refused.length === 1 ? "was" : "were"} not added. Remove a file from the list to make room.`;
    }
    chosen.slice(0, room).forEach(upload);
    renumber();
  }

  picker.addEventListener("change", () => {
    addFiles(picker.files);
    picker.value = "";
  });
  dropzone.addEventListener("dragover", (event) => {
    event.preventDefault();
    dropzone.classList.add("is-dragover");
  });
  dropzone.addEventListener("dragleave", () => dropzone.classList.remove("is-dragover"));
  dropzone.addEventListener("drop", (event) => {
    event.preventDefault();
    dropzone.classList.remove("is-dragover");
    if (!picker.disabled) addFiles(event.dataTransfer.files);
    else renumber();
  });

  // Move up, Move down, Remove: without the script they submit the form and the server
  // rearranges the list; with it, the rows move here and nothing is sent until "Update product".
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    event.preventDefault();
    const row = button.closest("[data-file-row]");
    const action = button.dataset.action;
    const name = nameOf(row);
    if (action === "remove") {
      const xhr = inFlight.get(row);
      inFlight.delete(row);
      if (xhr) xhr.abort();
      const next = row.nextElementSibling || row.previousElementSibling;
      row.remove();
      refusal = "";
      renumber();
      settle();
      announcer.textContent = `${name} removed from the list.`;
      (next ? next.querySelector('[data-action="remove"]') : picker).focus();
      return;
    }
    if (action === "up" && row.previousElementSibling) list.insertBefore(row, row.previousElementSibling);
    if (action === "down" && row.nextElementSibling) list.insertBefore(row.nextElementSibling, row);
    renumber();
    const position = rows().indexOf(row) + 1;
    announcer.textContent = `${name} moved to position ${position}.`;
    // Keep the keyboard where it was; at the end of the list the other direction is next.
    const other = row.querySelector(`[data-action="${action === "up" ? "down" : "up"}"]`);
    (button.disabled ? other : button).focus();
  });

  // "Add a file you uploaded before".
  const addButton = form.querySelector("[data-add-uploaded]");
  const addSelect = form.querySelector("[data-add-select]");
  if (addButton && addSelect) {
    addButton.addEventListener("click", (event) => {
      event.preventDefault();
      const option = addSelect.selectedOptions[0];
      if (!option) return;
      if (listed().length >= maxFiles) {
        refusal = `A product can deliver at most ${maxFiles} files. Remove a file from the list to make room.`;
        renumber();
        return;
      }
      const row = newRow(option.dataset.filename, option.dataset.facts);
      row.querySelector("[data-file-id]").value = option.value;
      row.dataset.state = "added";
      option.remove();
      if (addSelect.options.length === 0) addButton.closest(".add-uploaded").hidden = true;
      refusal = "";
      renumber();
      announcer.textContent = `${option.dataset.filename} added to the list.`;
    });
  }

  form.addEventListener("submit", (event) => {
    if (inFlight.size === 0) return;
    event.preventDefault();
    saveBlocked.textContent = "Some files are still uploading: wait until each shows “Uploaded”, then click Update product.";
    saveBlocked.hidden = false;
  });
  window.addEventListener("beforeunload", (event) => {
    if (inFlight.size > 0) event.preventDefault();
  });

  renumber();
}

document.addEventListener("DOMContentLoaded", () => {
  for (const form of document.querySelectorAll("[data-product-form]")) setUpFileList(form);
});
