// The live run view above the results: the latest run's progress bar, label, Cancel,
// previews and images, and its Save all / ZIP. Every followed run also updates its own
// history item, so runs queued together each show their own progress and end on their own.
import { api } from "./api.js";
import { $, setBar } from "./dom.js";
import { watchSession } from "./live.js";
import { routes } from "./routes.js";
import { standingText } from "./standing.js";

export function createRunView({ results, canWrite, onError }) {
  const box = $("run-status");
  const progress = box.querySelector("[role=progressbar]");
  const label = $("progress-label");
  const cancel = $("cancel");
  let shown = null; // the session on show

  function setProgress(step, total, text) {
    box.hidden = false;
    setBar(progress, step, total);
    label.textContent = text || `Step ${step} of ${total}`;
  }

  function show(sessionId) {
    shown = String(sessionId);
    box.dataset.session = shown;
    results.clear();
    $("session-actions").hidden = true;
    if ($("save-all")) $("save-all").textContent = "☆ Save all";
    $("download-all").href = routes.archive(sessionId);
    cancel.hidden = !canWrite;
    cancel.disabled = false;
    setProgress(0, 0, "Queued…");
  }

  function end() {
    cancel.hidden = true;
  }

  const handlers = {
    state(event) {
      if (event.total_steps) setProgress(event.step, event.total_steps);
      else if (event.status === "queued") setProgress(0, 0, standingText(event));
      event.images.forEach(results.addImage);
    },
    queued(event) {
      results.clear(); // a retried run starts over
      setProgress(0, 0, standingText(event));
    },
    progress(event) {
      setProgress(event.step, event.total_steps);
      if (event.previews) results.showPreviews(event.previews);
    },
    image: results.addImage,
    done() {
      $("session-actions").hidden = !results.hasImages();
      setProgress(1, 1, "Done");
      end();
    },
    failed(event) {
      setProgress(0, 1, event.status === "cancelled" ? "Cancelled" : "Failed: " + event.error);
      if (event.error) onError({ detail: event.error });
      end();
    },
    lost() {
      box.dataset.connection = "lost";
      label.textContent = "Connection lost, reconnecting…";
    },
    reconnected(count) {
      box.dataset.connection = "open";
      box.dataset.reconnects = String(count);
    },
    gone() {
      label.textContent = "This run can no longer be followed; reload the page.";
      end();
    },
  };

  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    label.textContent = "Cancelling…";
    await api(routes.cancel(shown), { method: "POST" });
  });
  if ($("save-all")) {
    $("save-all").addEventListener("click", async () => {
      const { ok } = await api(routes.saveAll(shown), { method: "POST" });
      if (!ok) return;
      $("save-all").textContent = "★ All saved";
      results.markAllSaved();
    });
  }

  // Follows a session to its end: its history item always, this view while it is on show.
  function follow(sessionId, itemView, { onShow = false } = {}) {
    if (onShow) show(sessionId);
    const isShown = () => shown === String(sessionId);
    const dispatch = (name) => (event) => {
      if (itemView && itemView[name]) itemView[name](event);
      if (isShown()) handlers[name](event);
    };
    return watchSession(sessionId, Object.fromEntries(Object.keys(handlers).map((name) => [name, dispatch(name)])));
  }

  return { follow, shown: () => shown };
}
