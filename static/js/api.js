// REST calls with the session's CSRF token, and the two read-only lists the form needs
// (the options with their limits, and the model catalog), fetched once per page.
import { routes } from "./routes.js";

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// {ok, body}: body is the JSON answer, {} for 204, or {detail} when the server sent no JSON.
export async function api(url, options = {}) {
  const headers = { "X-CSRFToken": csrfToken(), ...(options.json ? { "Content-Type": "application/json" } : {}) };
  const response = await fetch(url, {
    method: options.method || "GET", headers, credentials: "same-origin",
    body: options.json ? JSON.stringify(options.json) : options.body,
  });
  const body = response.status === 204 ? {} : await response.json().catch(() => ({ detail: `Server error (${response.status})` }));
  return { ok: response.ok, body };
}

const fetched = new Map();

function getOnce(url) {
  if (!fetched.has(url)) {
    fetched.set(url, api(url).then(({ ok, body }) => {
      if (!ok) throw new Error(body.detail || `Could not load ${url}`);
      return body;
    }));
  }
  return fetched.get(url);
}

// GET /api/v1/options/: choices and limits ({limits: {steps: {min, max}, …}}).
export const loadOptions = () => getOnce(routes.options());
// GET /api/v1/models/?project=ID: the catalog entries, base models and adapters, the project may use.
export const loadCatalog = (projectId) => getOnce(routes.models(projectId));
