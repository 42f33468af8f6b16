// A comparison: follow each running column live, then show the finished page; the
// slider reveals one model's image over the other's.
import { $, setBar } from "./dom.js";
import { watchSession } from "./live.js";
import { bindSaveButton } from "./save.js";

const root = $("comparison");
const slider = $("overlay-slider");
if (slider) {
  const show = () => {
    $("overlay-top").style.clipPath = `inset(0 ${100 - slider.value}% 0 0)`;
    $("overlay-line").style.left = `${slider.value}%`;
  };
  slider.addEventListener("input", show);
  show();
}

root.querySelectorAll(".save-image").forEach((button) => bindSaveButton(button, button.closest("figure").dataset.image));

const running = [...root.querySelectorAll(".column")].filter((column) => ["queued", "running"].includes(column.dataset.status));
let open = running.length;
for (const column of running) {
  const status = column.querySelector(".status");
  const progress = column.querySelector("[role=progressbar]");
  const showProgress = (event) => {
    if (!event.total_steps) return;
    progress.hidden = false;
    setBar(progress, event.step, event.total_steps);
    status.textContent = "Running";
    status.className = "status status-running";
  };
  const finished = (event) => {
    column.dataset.status = event.status || "succeeded";
    open -= 1;
    if (open === 0) location.reload(); // every column finished: the server draws the result
  };
  watchSession(column.dataset.session, { state: showProgress, progress: showProgress, done: finished, failed: finished });
}
