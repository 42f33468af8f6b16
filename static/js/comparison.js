// A comparison: follow each running column live, then show the finished page; the
// slider reveals one model's image over the other's.
(function () {
  "use strict";
  const root = document.getElementById("comparison");
  if (!root) return;

  const slider = document.getElementById("overlay-slider");
  if (slider) {
    const show = () => {
      document.getElementById("overlay-top").style.clipPath = `inset(0 ${100 - slider.value}% 0 0)`;
      document.getElementById("overlay-line").style.left = `${slider.value}%`;
    };
    slider.addEventListener("input", show);
    show();
  }

  root.querySelectorAll(".save-image").forEach((button) => {
    window.DeepImage.bindSaveButton(button, button.closest("figure").dataset.image);
  });

  const running = [...root.querySelectorAll(".column")].filter((column) => ["queued", "running"].includes(column.dataset.status));
  let open = running.length;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  for (const column of running) {
    const socket = new WebSocket(`${scheme}://${location.host}/ws/generations/${column.dataset.session}/`);
    const status = column.querySelector(".status");
    const progress = column.querySelector(".progress");
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if ((event.type === "progress" || event.type === "state") && event.total_steps) {
        progress.hidden = false;
        progress.querySelector(".bar").style.width = `${Math.round((100 * event.step) / event.total_steps)}%`;
        status.textContent = "Running";
        status.className = "status status-running";
      } else if (event.type === "done" || event.type === "failed") {
        socket.close();
        column.dataset.status = event.status;
        open -= 1;
        if (open === 0) location.reload(); // every column finished: the server draws the result
      }
    };
  }
})();
