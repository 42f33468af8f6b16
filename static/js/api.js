// Shared by the pages: REST calls with the session's CSRF token, and the Save toggle.
window.DeepImage = (function () {
  "use strict";

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // {ok, body}: body is the JSON answer, {} for 204, or {detail} when the server sent no JSON.
  async function api(url, options = {}) {
    const headers = { "X-CSRFToken": csrfToken(), ...(options.json ? { "Content-Type": "application/json" } : {}) };
    const response = await fetch(url, {
      method: options.method || "GET", headers, credentials: "same-origin",
      body: options.json ? JSON.stringify(options.json) : options.body,
    });
    const body = response.status === 204 ? {} : await response.json().catch(() => ({ detail: `Server error (${response.status})` }));
    return { ok: response.ok, body };
  }

  function showSaved(button, saved) {
    button.dataset.saved = String(saved);
    button.textContent = saved ? "★ Saved" : "☆ Save";
  }

  // A ☆ Save / ★ Saved button for one image; its data-saved attribute holds the state.
  function bindSaveButton(button, imageId) {
    button.addEventListener("click", async () => {
      const saved = button.dataset.saved !== "true";
      const { ok } = await api(`/api/v1/images/${imageId}/`, { method: "PATCH", json: { saved } });
      if (ok) showSaved(button, saved);
    });
  }

  return { api, bindSaveButton, showSaved };
})();
