// The ☆ Save / ★ Saved toggle of one image; its data-saved attribute holds the state.
import { api } from "./api.js";
import { routes } from "./routes.js";

export function showSaved(button, saved) {
  button.dataset.saved = String(saved);
  button.textContent = saved ? "★ Saved" : "☆ Save";
}

export function bindSaveButton(button, imageId) {
  button.addEventListener("click", async () => {
    const saved = button.dataset.saved !== "true";
    const { ok } = await api(routes.image(imageId), { method: "PATCH", json: { saved } });
    if (ok) showSaved(button, saved);
  });
}
