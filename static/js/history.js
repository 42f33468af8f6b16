// The history list: one item per session (cloned from <template id="history-item-template">,
// the same include the server renders the list with), each with its own status, progress
// bar and thumbnails while its run goes on.
import { $, cloneTemplate, fill, setBar } from "./dom.js";
import { routes } from "./routes.js";
import { standingText } from "./standing.js";

const STATUS_LABELS = { queued: "Queued", running: "Running", succeeded: "Succeeded", failed: "Failed", cancelled: "Cancelled" };

// The items whose run is not over, oldest first; comparison columns are followed on their page.
export function unfinishedItems() {
  return [...$("history").querySelectorAll(".history-item")]
    .filter((item) => ["queued", "running"].includes(item.dataset.status) && !item.dataset.comparison)
    .reverse();
}

// A new session (the API's answer to a submission) at the top of the list.
export function addHistoryItem(session, modeLabels) {
  const empty = $("history-empty");
  if (empty) empty.remove();
  const item = cloneTemplate("history-item-template");
  item.dataset.session = session.id;
  fill(item, {
    prompt: session.prompt || "(no prompt)",
    mode: modeLabels[session.mode] || session.mode,
    model: session.model_name,
    size: `${session.width}×${session.height}`,
    steps: session.steps,
    seed: session.seed,
    author: session.created_by || "deleted user",
    age: "just now",
  });
  $("history").prepend(item);
  const view = historyItemView(item, Number(session.project));
  view.status(session.status);
  return view;
}

// What a run's events change in its history item.
export function historyItemView(item, projectId) {
  const status = item.querySelector(".status");
  const progressBox = item.querySelector(".item-progress");
  const progress = progressBox.querySelector("[role=progressbar]");

  function setStatus(name) {
    item.dataset.status = name;
    status.className = `status status-${name}`;
    status.textContent = STATUS_LABELS[name] || name;
  }

  function setProgress(step, total) {
    progressBox.hidden = false;
    setBar(progress, step, total);
    fill(progressBox, { progress: `${step}/${total}` });
  }

  function showStanding(event) {
    progressBox.hidden = false;
    setBar(progress, 0, 1);
    fill(progressBox, { progress: standingText(event) });
  }

  function addThumb(image) {
    const thumbs = item.querySelector(".thumbs");
    if (thumbs.querySelector(`[data-image="${image.id}"]`)) return;
    const thumb = cloneTemplate("history-thumb-template");
    thumb.dataset.image = image.id;
    thumb.href = routes.imagePage(projectId, image.id);
    thumb.title = `seed ${image.seed}`;
    const img = thumb.querySelector("img");
    img.src = image.url;
    img.alt = `seed ${image.seed}`;
    thumbs.append(thumb);
  }

  function removeThumb(imageId) {
    const thumb = item.querySelector(`.thumbs [data-image="${imageId}"]`);
    if (thumb) thumb.remove();
  }

  return {
    item,
    status: setStatus,
    state(event) {
      if (event.status) setStatus(event.status);
      if (event.status === "queued" && event.position) showStanding(event);
      else if (event.total_steps) setProgress(event.step, event.total_steps);
      event.images.forEach(addThumb);
    },
    queued(event) {
      setStatus("queued");
      showStanding(event);
    },
    progress(event) {
      setStatus("running");
      setProgress(event.step, event.total_steps);
    },
    image: addThumb,
    removeThumb,
    done() {
      setStatus("succeeded");
      progressBox.hidden = true;
    },
    failed(event) {
      setStatus(event.status || "failed");
      progressBox.hidden = true;
      if (event.error) fill(item, { error: event.error }).querySelector("[data-field=error]").hidden = false;
    },
  };
}
