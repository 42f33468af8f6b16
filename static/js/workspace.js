// The workspace: submit through the REST API, follow progress over the websocket.
(function () {
  "use strict";
  const root = document.getElementById("workspace");
  const form = document.getElementById("generate-form");
  if (!root || !form) return;

  const projectId = root.dataset.project;
  const defaults = JSON.parse(document.getElementById("model-defaults").textContent);
  const $ = (id) => document.getElementById(id);

  function csrfToken() {
    const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function applyModelDefaults() {
    const model = defaults[$("model").value];
    if (!model) return;
    $("steps").value = model.default_steps;
    $("guidance_scale").value = model.default_guidance_scale;
    $("width").value = model.default_width;
    $("height").value = model.default_height;
    $("model-description").textContent = model.family_label + (model.description ? " — " + model.description : "");
  }

  function formPayload() {
    const data = {};
    for (const [name, value] of new FormData(form).entries()) {
      if (value === "") continue;
      const numeric = ["model", "steps", "width", "height", "seed", "num_images"].includes(name);
      data[name] = numeric ? parseInt(value, 10) : name === "guidance_scale" ? parseFloat(value) : value;
    }
    if (!("prompt" in data)) data.prompt = "";
    return data;
  }

  function showErrors(errors) {
    const lines = Object.entries(errors).map(([field, messages]) =>
      (field === "non_field_errors" || field === "detail" ? "" : field.replace("_", " ") + ": ") +
      [].concat(messages).join(" "));
    $("form-errors").textContent = lines.join("\n");
  }

  function setProgress(step, total, label) {
    $("run-status").hidden = false;
    $("progress-bar").style.width = total ? Math.round((100 * step) / total) + "%" : "0%";
    $("progress-label").textContent = label || `Step ${step} of ${total}`;
  }

  function addImage(image) {
    const results = $("results");
    if (results.querySelector(`[data-image="${image.id}"]`)) return; // state + live event may repeat
    const empty = results.querySelector(".empty");
    if (empty) empty.remove();
    const figure = document.createElement("figure");
    figure.dataset.image = image.id;
    figure.innerHTML = `<a href="${image.url}" target="_blank"><img alt=""></a><figcaption>seed ${image.seed} · ${image.width}×${image.height}</figcaption>`;
    figure.querySelector("img").src = image.url;
    figure.querySelector("img").alt = `Result ${image.index + 1}, seed ${image.seed}`;
    results.appendChild(figure);
  }

  function addHistoryItem(session) {
    const empty = $("history-empty");
    if (empty) empty.remove();
    const item = document.createElement("li");
    item.className = "history-item";
    item.dataset.session = session.id;
    item.innerHTML = `<div class="thumbs"></div><div class="meta"><p class="prompt"></p><p class="muted small"></p><span class="status status-queued">Queued</span></div>`;
    item.querySelector(".prompt").textContent = session.prompt;
    item.querySelector(".small").textContent = `${session.model_name} · ${session.width}×${session.height} · ${session.steps} steps · seed ${session.seed} · just now`;
    $("history").prepend(item);
    return item;
  }

  function follow(session, historyItem) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/generations/${session.id}/`);
    const status = historyItem.querySelector(".status");
    const setStatus = (name, label) => { status.className = `status status-${name}`; status.textContent = label; };
    socket.onmessage = (message) => {
      const event = JSON.parse(message.data);
      if (event.type === "state") {
        if (event.total_steps) setProgress(event.step, event.total_steps);
        event.images.forEach(addImage);
        if (event.status === "running") setStatus("running", "Running");
      } else if (event.type === "progress") {
        setStatus("running", "Running");
        setProgress(event.step, event.total_steps);
      } else if (event.type === "image") {
        addImage(event);
        if (historyItem.querySelector(`.thumbs img[src="${event.url}"]`)) return;
        const thumb = document.createElement("img");
        thumb.src = event.url;
        thumb.alt = `seed ${event.seed}`;
        historyItem.querySelector(".thumbs").appendChild(thumb);
      } else if (event.type === "done") {
        setProgress(1, 1, "Done");
        setStatus("succeeded", "Succeeded");
        finish(socket);
      } else if (event.type === "failed") {
        setProgress(0, 1, event.status === "cancelled" ? "Cancelled" : "Failed: " + event.error);
        setStatus(event.status || "failed", event.status === "cancelled" ? "Cancelled" : "Failed");
        $("form-errors").textContent = event.error;
        finish(socket);
      }
    };
    socket.onerror = () => { $("progress-label").textContent = "Lost the live connection; reload to see the result."; finish(socket); };
  }

  function finish(socket) {
    socket.close();
    $("generate").disabled = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("form-errors").textContent = "";
    $("generate").disabled = true;
    const response = await fetch(`/api/v1/projects/${projectId}/generations/`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(formPayload()),
      credentials: "same-origin",
    });
    const body = await response.json().catch(() => ({ detail: `Server error (${response.status})` }));
    if (!response.ok) {
      showErrors(body);
      $("generate").disabled = false;
      return;
    }
    $("results").innerHTML = "";
    setProgress(0, body.steps, "Queued…");
    follow(body, addHistoryItem(body));
  });

  $("model").addEventListener("change", applyModelDefaults);
  applyModelDefaults();

  // After a reload, pick up sessions that are still queued or running.
  document.querySelectorAll(".history-item .status-queued, .history-item .status-running").forEach((status) => {
    const item = status.closest(".history-item");
    $("results").innerHTML = "";
    $("generate").disabled = true;
    follow({ id: item.dataset.session }, item);
  });
})();
