// The generate form: model defaults and adapters from the catalog (GET /api/v1/models/),
// ranges from the options (GET /api/v1/options/), modes, sizes, the base image and its
// mask, rows of models to compare, and the payload sent to the API.
import { api } from "./api.js";
import { $, cloneTemplate, fill } from "./dom.js";
import { clearMask, initMask, maskBlob, maskPainted, resetMask } from "./mask.js";
import { routes } from "./routes.js";

const DROP_HINT = "Drop, paste or choose a base image — or press Reference on a result.";

// Wires the form; onSubmit(formData, variants or null) sends it. Returns what the result
// actions need: reference(image), useParameters(imageId), forgetImage(imageId), showErrors.
export function initForm({ form, options, catalog, onSubmit }) {
  const limits = options.limits;
  const isImageMode = (mode) => options.image_modes.includes(mode); // the modes that start from an image
  const entries = Object.fromEntries(catalog.map((entry) => [String(entry.id), entry]));
  const adapterCatalog = catalog.filter((entry) => entry.kind === "adapter");
  const maxCompareRows = limits.compared_models.max - 1; // the form's own model is the first
  let baseImage = null; // {file} for an upload or {id, url} for a result used as Reference

  const selectedMode = () => form.querySelector("input[name=mode]:checked").value;
  const adaptersFor = (family) => adapterCatalog.filter((adapter) => adapter.family === family);

  function applyModelDefaults() {
    const model = entries[$("model").value];
    if (!model) return;
    $("steps").value = model.default_steps;
    $("guidance_scale").value = model.default_guidance_scale;
    $("guidance_end").value = model.default_guidance_end;
    $("width").value = model.default_width;
    $("height").value = model.default_height;
    $("sampler").value = model.default_sampler || "";
    $("model-description").textContent = `${model.origin_label} · ${model.family_label}` + (model.description ? " — " + model.description : "");
    $("model-preview").hidden = !model.preview_url;
    if (model.preview_url) $("model-preview").src = model.preview_url;
    renderAdapters(model);
  }

  function renderAdapters(model) {
    const box = $("adapters");
    const fitting = adaptersFor(model.family);
    box.replaceChildren();
    box.hidden = !fitting.length;
    if (!fitting.length) return;
    box.append(cloneTemplate("adapters-heading-template"));
    for (const adapter of fitting) {
      const row = fill(cloneTemplate("adapter-template"), { name: adapter.name });
      row.title = `${adapter.origin_label}: ${adapter.description || adapter.name}`;
      row.querySelector("input[type=checkbox]").dataset.adapter = adapter.id;
      const slider = row.querySelector("input[type=range]");
      slider.dataset.weight = adapter.id;
      slider.min = limits.adapter_weight.min;
      slider.max = limits.adapter_weight.max;
      slider.value = 1;
      const output = row.querySelector("output");
      const show = () => { output.textContent = Number(slider.value).toFixed(2); };
      slider.addEventListener("input", show);
      show();
      box.append(row);
    }
  }

  function chosenAdapters() {
    return [...$("adapters").querySelectorAll("input[data-adapter]:checked")].map((box) => ({
      id: Number(box.dataset.adapter),
      weight: Number($("adapters").querySelector(`[data-weight="${box.dataset.adapter}"]`).value),
    }));
  }

  function showMode() {
    const mode = selectedMode();
    const imageMode = isImageMode(mode);
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

  // --- the base image: upload, drop, paste or Reference ---
  function setBaseImage(image) {
    baseImage = image;
    const preview = $("base-preview");
    if (preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
    if (!image) {
      $("source_image").value = "";
      $("init_image").value = "";
      $("drop-label").textContent = DROP_HINT;
      showMode();
      return;
    }
    $("source_image").value = image.id || "";
    preview.src = image.file ? URL.createObjectURL(image.file) : image.url;
    $("drop-label").textContent = image.file ? image.file.name : `Result #${image.id} (Reference)`;
    preview.onload = () => resetMask(preview.naturalWidth, preview.naturalHeight);
    showMode();
  }

  // A result (or any image of the project) as the next base image.
  function reference(image) {
    if (!isImageMode(selectedMode())) form.querySelector("input[value=image_text]").checked = true;
    setBaseImage({ id: image.id, url: image.url || routes.imageFile(image.id) });
    form.scrollIntoView({ block: "start" });
  }

  function forgetImage(imageId) {
    if (baseImage && baseImage.id === imageId) setBaseImage(null);
  }

  async function payload() {
    const data = new FormData();
    const mode = selectedMode();
    for (const [name, value] of new FormData(form).entries()) {
      if (value === "" || name === "init_image" || name === "source_image") continue;
      if (!isImageMode(mode) && ["strength", "resize_mode"].includes(name)) continue;
      if ($("aspect").value !== "custom" && ["width", "height"].includes(name)) continue;
      data.append(name, value);
    }
    if (!data.has("prompt")) data.append("prompt", "");
    if (isImageMode(mode) && baseImage) {
      if (baseImage.file) data.append("init_image", baseImage.file);
      else data.append("source_image", baseImage.id);
      if (mode === "inpaint" && maskPainted()) data.append("mask_image", await maskBlob(), "mask.png");
    }
    data.append("adapters", JSON.stringify(chosenAdapters()));
    return data;
  }

  function showErrors(errors) {
    const lines = Object.entries(errors).map(([field, messages]) =>
      (field === "non_field_errors" || field === "detail" ? "" : field.replace("_", " ") + ": ") +
      [].concat(messages).join(" "));
    $("form-errors").textContent = lines.join("\n");
  }

  // "Use these parameters": the session's full parameters, with this image's own seed.
  async function useParameters(imageId) {
    const { ok, body } = await api(routes.image(imageId));
    if (!ok) { showErrors(body); return; }
    const session = body.generation;
    if (!entries[session.model]) { showErrors({ model: `${session.model_name} is no longer in the catalog.` }); return; }
    $("model").value = session.model;
    applyModelDefaults();
    const mode = session.mode === "upscale" ? "image_to_image" : session.mode;
    form.querySelector(`input[name=mode][value=${mode}]`).checked = true;
    for (const name of ["prompt", "negative_prompt", "steps", "guidance_scale", "sampler", "eta", "clip_skip", "guidance_rescale", "guidance_end", "resize_mode"]) {
      $(name).value = session[name];
    }
    $("seed").value = body.seed;
    $("num_images").value = String(limits.num_images.min);
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
      const source = await api(routes.image(session.source_image));
      if (source.ok) setBaseImage({ id: source.body.id, url: routes.imageFile(source.body.id) });
    }
    showMode();
    $("form-errors").textContent = isImageMode(mode) && !session.source_image ? "The base image was an upload: choose it again." : "";
    form.scrollIntoView({ block: "start" });
  }

  // --- compare models: the form's model (and adapters) is the first column ---
  function addCompareRow() {
    const rows = $("compare-rows");
    if (rows.children.length >= maxCompareRows) return;
    const row = cloneTemplate("compare-row-template");
    const modelSelect = row.querySelector(".compare-model");
    const adapterSelect = row.querySelector(".compare-adapter");
    const weight = row.querySelector(".compare-weight");
    weight.min = limits.adapter_weight.min;
    weight.max = limits.adapter_weight.max;
    modelSelect.innerHTML = $("model").innerHTML;
    const noAdapter = adapterSelect.options[0];
    const fillAdapters = () => {
      const family = (entries[modelSelect.value] || {}).family;
      adapterSelect.replaceChildren(noAdapter, ...adaptersFor(family).map((adapter) => new Option(adapter.name, adapter.id)));
    };
    modelSelect.addEventListener("change", fillAdapters);
    row.querySelector(".remove").addEventListener("click", () => { row.remove(); showCompare(); });
    fillAdapters();
    rows.append(row);
    showCompare();
  }

  function compareVariants() {
    const rows = [...$("compare-rows").querySelectorAll(".compare-row")];
    if (!rows.length) return null;
    return [{ model: Number($("model").value), adapters: chosenAdapters() }, ...rows.map((row) => {
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
    $("add-compare").hidden = count >= maxCompareRows;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    $("form-errors").textContent = "";
    await onSubmit(await payload(), compareVariants());
  });
  $("add-compare").addEventListener("click", addCompareRow);
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
    const file = [...((event.clipboardData || {}).files || [])].find((f) => f.type.startsWith("image/"));
    if (file && isImageMode(selectedMode())) setBaseImage({ file });
  });
  $("clear-image").addEventListener("click", () => setBaseImage(null));
  initMask();
  clearMask();
  applyModelDefaults();
  showMode();
  $("generate").disabled = false; // rendered disabled: nothing is sent before the form is ready
  $("generate").removeAttribute("title");

  return { reference, useParameters, forgetImage, showErrors };
}
