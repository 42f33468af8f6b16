// The workspace page: the generate form (editors and owners), the live run view and the
// history, for everyone. Runs go through the REST API; their progress comes over websockets.
import { api, loadCatalog, loadOptions } from "./api.js";
import { $ } from "./dom.js";
import { initForm } from "./form.js";
import { addHistoryItem, historyItemView, unfinishedItems } from "./history.js";
import { createResults } from "./results.js";
import { routes } from "./routes.js";
import { createRunView } from "./run.js";

const root = $("workspace");
const projectId = Number(root.dataset.project);
const canWrite = root.dataset.canWrite === "true";
const formElement = $("generate-form");
let form = null; // the form's controls, once the options and the catalog are in
const showErrors = (errors) => { if (form) form.showErrors(errors); };

const results = createResults({
  projectId,
  actions: {
    reference: (image) => form && form.reference(image),
    use: (imageId) => form && form.useParameters(imageId),
    upscale: (image) => upscale(image),
    error: showErrors,
    deleted(image) {
      document.querySelectorAll(`.history .thumbs [data-image="${image.id}"]`).forEach((thumb) => thumb.remove());
      if (form) form.forgetImage(image.id);
    },
  },
});
const run = createRunView({ results, canWrite, onError: showErrors });

// After a (re)load: every unfinished run in the list, each with its own progress; the
// newest one is on show.
const unfinished = unfinishedItems();
unfinished.forEach((item, position) => {
  run.follow(item.dataset.session, historyItemView(item, projectId), { onShow: position === unfinished.length - 1 });
});

let modeLabels = {};

async function submit(data) {
  $("generate").disabled = true;
  const { ok, body } = await api(routes.generations(projectId), { method: "POST", body: data });
  $("generate").disabled = false;
  if (!ok) { showErrors(body); return; }
  run.follow(body.id, addHistoryItem(body, modeLabels), { onShow: true });
}

async function submitComparison(data, variants) {
  data.delete("model");
  data.delete("adapters");
  data.append("variants", JSON.stringify(variants));
  $("generate").disabled = true;
  const { ok, body } = await api(routes.comparisons(projectId), { method: "POST", body: data });
  if (!ok) { showErrors(body); $("generate").disabled = false; return; }
  location.href = routes.comparisonPage(projectId, body.id);
}

async function upscale(image) {
  const data = new FormData();
  data.append("mode", "upscale");
  data.append("source_image", image.id);
  await submit(data);
}

async function startForm() {
  const [options, catalog] = await Promise.all([loadOptions(), loadCatalog(projectId)]);
  modeLabels = Object.fromEntries(options.modes.map((mode) => [mode.value, mode.label]));
  form = initForm({
    form: formElement,
    options,
    catalog,
    onSubmit: (data, variants) => (variants ? submitComparison(data, variants) : submit(data)),
  });

  // Arriving from an image page: ?reference=<id> makes it the base image, ?use=<id> loads its parameters.
  const query = new URLSearchParams(location.search);
  if (query.get("reference")) {
    form.reference({ id: Number(query.get("reference")) });
  } else if (query.get("use")) {
    form.useParameters(Number(query.get("use")));
  }
}

if (formElement) {
  startForm().catch((error) => { $("form-errors").textContent = `${error.message}: reload the page.`; });
}
