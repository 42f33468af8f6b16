// The workspace: submit through the REST API, follow progress over the websocket.
(function () {
  "use strict";
  const root = document.getElementById("workspace");
  const form = document.getElementById("generate-form");
  if (!root || !form) return;

  const projectId = root.dataset.project;
  const defaults = JSON.parse(document.getElementById("model-defaults").textContent);
  const adapterCatalog = JSON.parse(document.getElementById("adapter-catalog").textContent);
  const $ = (id) => document.getElementById(id);
  const IMAGE_MODES = ["image_to_image", "image_text", "inpaint"];
  let baseImage = null; // {file} for an upload or {id, url} for a result used as Reference

  const { api, bindSaveButton, showSaved } = window.DeepImage;

  function applyModelDefaults() {
    const model = defaults[$("model").value];
    if (!model) return;
    $("steps").value = model.default_steps;
    $("guidance_scale").value = model.default_guidance_scale;
    $("width").value = model.default_width;
    $("height").value = model.default_height;
    $("sampler").value = model.default_sampler || "";
    $("model-description").textContent = `${model.origin_label} · ${model.family_label}` + (model.description ? " — " + model.description : "");
    $("model-preview").hidden = !model.preview_url;
    if (model.preview_url) $("model-preview").src = model.preview_url;
    renderAdapters(model);
  }

  function renderAdapters(model) {
    const fitting = adapterCatalog.filter((adapter) => adapter.family === model.family);
    const box = $("adapters");
    box.innerHTML = fitting.length ? "<p class='small muted'>Adapters (applied unmerged)</p>" : "";
    for (const adapter of fitting) {
      const row = document.createElement("label");
      row.className = "adapter";
      row.innerHTML = `<input type="checkbox" data-adapter="${adapter.id}"><span class="name"></span>
        <input type="range" min="-1" max="2" step="0.05" value="1" data-weight="${adapter.id}" aria-label="weight">
        <output>1.00</output>`;
      row.querySelector(".name").textContent = adapter.name;
      row.title = `${adapter.origin_label}: ${adapter.description || adapter.name}`;
      const slider = row.querySelector("input[type=range]");
      slider.addEventListener("input", () => { row.querySelector("output").textContent = Number(slider.value).toFixed(2); });
      box.appendChild(row);
    }
  }

  function selectedMode() {
    return form.querySelector("input[name=mode]:checked").value;
  }

  function showMode() {
    const mode = selectedMode();
    const imageMode = IMAGE_MODES.includes(mode);
    $("image-input").hidden = !imageMode;
    $("mask-editor").hidden = !(baseImage && imageMode);
    $("mask-tools").querySelectorAll("#brush-size, #clear-mask").forEach((el) => { el.closest("label, button").hidden = mode !== "inpaint"; });
    $("mask-canvas").hidden = mode !== "inpaint";
    $("prompt").placeholder = mode === "image_to_image" ? "Optional: variations need no prompt" : "An astronaut riding a horse through an autumn forest, cinematic lighting";
    const aspect = $("aspect");
    if (imageMode && aspect.value === "") aspect.value = "image";
    showCustomSize();
  }

  function showCustomSize() {
    const custom = $("aspect").value === "custom";
    form.querySelectorAll(".custom-size").forEach((label) => { label.hidden = !custom; });
  }

  // --- base image: upload, drop, paste or Reference; mask painted on a canvas of its size ---
  function setBaseImage(image) {
    baseImage = image;
    const preview = $("base-preview");
    if (preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
    if (!image) {
      $("source_image").value = "";
      $("init_image").value = "";
      $("drop-label").textContent = "Drop, paste or choose a base image — or press Reference on a result.";
      showMode();
      return;
    }
    $("source_image").value = image.id || "";
    preview.src = image.file ? URL.createObjectURL(image.file) : image.url;
    $("drop-label").textContent = image.file ? image.file.name : `Result #${image.id} (Reference)`;
    preview.onload = () => {
      const canvas = $("mask-canvas");
      canvas.width = preview.naturalWidth;
      canvas.height = preview.naturalHeight;
      clearMask();
    };
    showMode();
  }

  function clearMask() {
    const canvas = $("mask-canvas");
    canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    canvas.dataset.painted = "";
  }

  function paintOn(canvas) {
    let painting = false;
    const draw = (event) => {
      if (!painting) return;
      const box = canvas.getBoundingClientRect();
      const scale = canvas.width / box.width;
      const context = canvas.getContext("2d");
      context.fillStyle = "rgba(255, 255, 255, 1)";
      context.beginPath();
      context.arc((event.clientX - box.left) * scale, (event.clientY - box.top) * scale, ($("brush-size").value * scale) / 2, 0, 2 * Math.PI);
      context.fill();
      canvas.dataset.painted = "yes";
    };
    canvas.addEventListener("pointerdown", (event) => { painting = true; canvas.setPointerCapture(event.pointerId); draw(event); });
    canvas.addEventListener("pointermove", draw);
    canvas.addEventListener("pointerup", () => { painting = false; });
  }

  function maskBlob() {
    // White where painted on black: the mask format the engine expects, at the image's own size.
    const painted = $("mask-canvas");
    const mask = document.createElement("canvas");
    mask.width = painted.width;
    mask.height = painted.height;
    const context = mask.getContext("2d");
    context.fillStyle = "black";
    context.fillRect(0, 0, mask.width, mask.height);
    context.drawImage(painted, 0, 0);
    return new Promise((resolve) => mask.toBlob(resolve, "image/png"));
  }

  async function formPayload() {
    const data = new FormData();
    const mode = selectedMode();
    for (const [name, value] of new FormData(form).entries()) {
      if (value === "" || name === "init_image" || name === "source_image") continue;
      if (!IMAGE_MODES.includes(mode) && ["strength", "resize_mode"].includes(name)) continue;
      if ($("aspect").value !== "custom" && ["width", "height"].includes(name)) continue;
      data.append(name, value);
    }
    if (!data.has("prompt")) data.append("prompt", "");
    if (IMAGE_MODES.includes(mode) && baseImage) {
      if (baseImage.file) data.append("init_image", baseImage.file);
      else data.append("source_image", baseImage.id);
      if (mode === "inpaint" && $("mask-canvas").dataset.painted) data.append("mask_image", await maskBlob(), "mask.png");
    }
    const adapters = [...$("adapters").querySelectorAll("input[data-adapter]:checked")].map((box) => ({
      id: Number(box.dataset.adapter),
      weight: Number($("adapters").querySelector(`[data-weight="${box.dataset.adapter}"]`).value),
    }));
    data.append("adapters", JSON.stringify(adapters));
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
    const page = `/projects/${projectId}/images/${image.id}/`;
    figure.innerHTML = `<a href="${page}" title="Details and lineage"><img alt=""></a><figcaption>seed ${image.seed} · ${image.width}×${image.height}</figcaption>
      <div class="actions">
        <button type="button" class="save"></button>
        <button type="button" class="reference">Reference</button>
        <button type="button" class="upscale">Upscale 2×</button>
        <button type="button" class="use" title="Use these parameters: load them into the form">Use params</button>
        <a class="button download" href="${image.url}?download=1" title="Download the PNG (parameters inside)">Download</a>
        <button type="button" class="delete danger">Delete</button>
      </div>`;
    figure.querySelector("img").src = image.url;
    showSaved(figure.querySelector(".save"), Boolean(image.saved));
    bindSaveButton(figure.querySelector(".save"), image.id);
    figure.querySelector(".use").addEventListener("click", () => useParameters(image.id));
    figure.querySelector(".delete").addEventListener("click", () => deleteImage(image, figure));
    if (root.dataset.canWrite !== "true") figure.querySelectorAll(".save, .reference, .upscale, .use, .delete").forEach((el) => el.remove());
    figure.querySelector("img").alt = `Result ${image.index + 1}, seed ${image.seed}`;
    figure.querySelector(".reference").addEventListener("click", () => {
      if (!IMAGE_MODES.includes(selectedMode())) form.querySelector("input[value=image_text]").checked = true;
      setBaseImage({ id: image.id, url: image.url });
      form.scrollIntoView({ block: "start" });
    });
    figure.querySelector(".upscale").addEventListener("click", () => upscale(image));
    const preview = results.querySelector(`.preview[data-index="${image.index}"]`);
    if (preview) preview.replaceWith(figure);
    else results.appendChild(figure);
  }

  async function deleteImage(image, figure) {
    if (!confirm("Delete this image and its file? Images made from it keep a “deleted parent” mark.")) return;
    const { ok, body } = await api(`/api/v1/images/${image.id}/`, { method: "DELETE" });
    if (!ok) { showErrors(body); return; }
    figure.remove();
    document.querySelectorAll(`.history .thumbs img[src="${image.url}"]`).forEach((thumb) => (thumb.closest("a") || thumb).remove());
    if (baseImage && baseImage.id === image.id) setBaseImage(null);
  }

  // "Use these parameters": the session's full parameters, with this image's own seed.
  async function useParameters(imageId) {
    const { ok, body } = await api(`/api/v1/images/${imageId}/`);
    if (!ok) { showErrors(body); return; }
    const session = body.generation;
    if (!defaults[session.model]) { showErrors({ model: `${session.model_name} is no longer in the catalog.` }); return; }
    $("model").value = session.model;
    applyModelDefaults();
    const mode = session.mode === "upscale" ? "image_to_image" : session.mode;
    form.querySelector(`input[name=mode][value=${mode}]`).checked = true;
    for (const name of ["prompt", "negative_prompt", "steps", "guidance_scale", "sampler", "eta", "clip_skip", "guidance_rescale", "resize_mode"]) {
      $(name).value = session[name];
    }
    $("seed").value = body.seed;
    $("num_images").value = "1";
    $("strength").value = session.strength;
    $("strength-value").textContent = Number(session.strength).toFixed(2);
    const presets = [...$("aspect").options].map((option) => option.value);
    $("aspect").value = session.aspect && session.aspect !== "custom" && presets.includes(session.aspect) ? session.aspect : "custom";
    $("width").value = session.width;
    $("height").value = session.height;
    for (const used of session.adapters) {
      const box = $("adapters").querySelector(`[data-adapter="${used.adapter}"]`);
      if (!box) continue;
      box.checked = true;
      const slider = $("adapters").querySelector(`[data-weight="${used.adapter}"]`);
      slider.value = used.weight;
      slider.dispatchEvent(new Event("input"));
    }
    setBaseImage(null);
    if (session.source_image) {
      const source = await api(`/api/v1/images/${session.source_image}/`);
      if (source.ok) setBaseImage({ id: source.body.id, url: new URL(source.body.url).pathname });
    }
    showMode();
    $("form-errors").textContent = IMAGE_MODES.includes(mode) && !session.source_image ? "The base image was an upload: choose it again." : "";
    form.scrollIntoView({ block: "start" });
  }

  // --- compare models: the form's model (and adapters) is the first column ---
  function addCompareRow() {
    const rows = $("compare-rows");
    if (rows.children.length >= 3) return;
    const row = document.createElement("div");
    row.className = "compare-row";
    row.innerHTML = `<select class="compare-model" aria-label="Model to compare"></select>
      <select class="compare-adapter" aria-label="Adapter"><option value="">No adapter</option></select>
      <input class="compare-weight" type="number" min="-2" max="2" step="0.05" value="1" aria-label="Adapter weight">
      <button type="button" class="remove" aria-label="Remove">×</button>`;
    const modelSelect = row.querySelector(".compare-model");
    modelSelect.innerHTML = $("model").innerHTML;
    const fillAdapters = () => {
      const family = (defaults[modelSelect.value] || {}).family;
      row.querySelector(".compare-adapter").innerHTML = "<option value=''>No adapter</option>" + adapterCatalog
        .filter((adapter) => adapter.family === family)
        .map((adapter) => `<option value="${adapter.id}">${adapter.name.replace(/</g, "&lt;")}</option>`).join("");
    };
    modelSelect.addEventListener("change", fillAdapters);
    row.querySelector(".remove").addEventListener("click", () => { row.remove(); showCompare(); });
    fillAdapters();
    rows.appendChild(row);
    showCompare();
  }

  function compareVariants() {
    const rows = [...$("compare-rows").querySelectorAll(".compare-row")];
    if (!rows.length) return null;
    const chosen = [...$("adapters").querySelectorAll("input[data-adapter]:checked")].map((box) => ({
      id: Number(box.dataset.adapter),
      weight: Number($("adapters").querySelector(`[data-weight="${box.dataset.adapter}"]`).value),
    }));
    return [{ model: Number($("model").value), adapters: chosen }, ...rows.map((row) => {
      const adapter = row.querySelector(".compare-adapter").value;
      return {
        model: Number(row.querySelector(".compare-model").value),
        adapters: adapter ? [{ id: Number(adapter), weight: Number(row.querySelector(".compare-weight").value) }] : [],
      };
    })];
  }

  function showCompare() {
    const count = $("compare-rows").children.length;
    $("generate").textContent = count ? `Compare ${count + 1} models` : "Generate";
    $("add-compare").hidden = count >= 3;
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

  let followed = null;

  function follow(session, historyItem) {
    followed = session.id;
    $("session-actions").hidden = true;
    if ($("save-all")) $("save-all").textContent = "☆ Save all";
    $("download-all").href = `/api/v1/generations/${session.id}/archive/`;
    $("cancel").hidden = root.dataset.canWrite !== "true";
    $("cancel").disabled = false;
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
        if (event.previews) showPreviews(event.previews);
      } else if (event.type === "image") {
        addImage(event);
        if (historyItem.querySelector(`.thumbs img[src="${event.url}"]`)) return;
        const thumb = document.createElement("a");
        thumb.className = "thumb";
        thumb.href = `/projects/${projectId}/images/${event.id}/`;
        thumb.innerHTML = `<img alt="seed ${event.seed}">`;
        thumb.querySelector("img").src = event.url;
        historyItem.querySelector(".thumbs").appendChild(thumb);
      } else if (event.type === "done") {
        $("session-actions").hidden = !$("results").querySelector("figure[data-image]");
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

  function showPreviews(previews) {
    const results = $("results");
    results.dataset.previewsShown = Number(results.dataset.previewsShown || 0) + 1;
    const empty = results.querySelector(".empty");
    if (empty) empty.remove();
    previews.forEach((url, index) => {
      let preview = results.querySelector(`.preview[data-index="${index}"]`);
      if (!preview) {
        if (results.querySelector(`figure[data-image]:nth-child(${index + 1})`)) return;
        preview = document.createElement("figure");
        preview.className = "preview";
        preview.dataset.index = index;
        preview.innerHTML = `<img alt="Preview of image ${index + 1}"><figcaption>forming…</figcaption>`;
        results.appendChild(preview);
      }
      preview.querySelector("img").src = url;
    });
  }

  async function upscale(image) {
    const data = new FormData();
    data.append("mode", "upscale");
    data.append("source_image", image.id);
    await submit(data);
  }

  function finish(socket) {
    socket.close();
    $("cancel").hidden = true;
    $("generate").disabled = false;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = await formPayload();
    const variants = compareVariants();
    if (variants) await submitComparison(data, variants);
    else await submit(data);
  });

  async function submitComparison(data, variants) {
    $("form-errors").textContent = "";
    data.delete("model");
    data.delete("adapters");
    data.append("variants", JSON.stringify(variants));
    $("generate").disabled = true;
    const { ok, body } = await api(`/api/v1/projects/${projectId}/comparisons/`, { method: "POST", body: data });
    if (!ok) { showErrors(body); $("generate").disabled = false; return; }
    location.href = `/projects/${projectId}/comparisons/${body.id}/`;
  }

  async function submit(data) {
    $("form-errors").textContent = "";
    $("generate").disabled = true;
    const { ok, body } = await api(`/api/v1/projects/${projectId}/generations/`, { method: "POST", body: data });
    if (!ok) {
      showErrors(body);
      $("generate").disabled = false;
      return;
    }
    $("results").innerHTML = "";
    setProgress(0, body.steps, "Queued…");
    follow(body, addHistoryItem(body));
  }

  if ($("save-all")) {
    $("save-all").addEventListener("click", async () => {
      const { ok } = await api(`/api/v1/generations/${followed}/save/`, { method: "POST" });
      if (!ok) return;
      $("save-all").textContent = "★ All saved";
      $("results").querySelectorAll("figure .save").forEach((button) => showSaved(button, true));
    });
  }
  $("add-compare").addEventListener("click", addCompareRow);

  $("cancel").addEventListener("click", async () => {
    $("cancel").disabled = true;
    $("progress-label").textContent = "Cancelling…";
    await api(`/api/v1/generations/${followed}/cancel/`, { method: "POST" });
  });
  $("model").addEventListener("change", applyModelDefaults);
  form.querySelectorAll("input[name=mode]").forEach((radio) => radio.addEventListener("change", showMode));
  $("aspect").addEventListener("change", showCustomSize);
  $("strength").addEventListener("input", () => { $("strength-value").textContent = Number($("strength").value).toFixed(2); });
  $("init_image").addEventListener("change", () => { if ($("init_image").files[0]) setBaseImage({ file: $("init_image").files[0] }); });
  const drop = $("drop-zone");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const file = [...event.dataTransfer.files].find((f) => f.type.startsWith("image/"));
    if (file) setBaseImage({ file });
  });
  document.addEventListener("paste", (event) => {
    const file = [...(event.clipboardData || {}).files || []].find((f) => f.type.startsWith("image/"));
    if (file && IMAGE_MODES.includes(selectedMode())) setBaseImage({ file });
  });
  $("clear-mask").addEventListener("click", clearMask);
  $("clear-image").addEventListener("click", () => setBaseImage(null));
  paintOn($("mask-canvas"));
  applyModelDefaults();
  showMode();

  // After a reload, pick up sessions that are still queued or running.
  document.querySelectorAll(".history-item .status-queued, .history-item .status-running").forEach((status) => {
    const item = status.closest(".history-item");
    if (item.dataset.comparison) return; // its comparison page follows it
    $("results").innerHTML = "";
    $("generate").disabled = true;
    follow({ id: item.dataset.session }, item);
  });

  // Arriving from an image page: ?reference=<id> makes it the base image, ?use=<id> loads its parameters.
  const query = new URLSearchParams(location.search);
  if (query.get("reference")) {
    const id = Number(query.get("reference"));
    form.querySelector("input[value=image_text]").checked = true;
    setBaseImage({ id, url: `/api/v1/images/${id}/file/` });
  } else if (query.get("use")) {
    useParameters(Number(query.get("use")));
  }
})();
