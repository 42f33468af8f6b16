// The results of the run on show: live previews while it forms, then one figure per image
// with its actions (cloned from <template id="result-template">; a viewer's copy has only
// Download).
import { api } from "./api.js";
import { $, cloneTemplate, confirmed } from "./dom.js";
import { routes } from "./routes.js";
import { bindSaveButton, showSaved } from "./save.js";

// actions: {reference(image), use(imageId), upscale(image), deleted(image), error(body)}.
export function createResults({ projectId, actions }) {
  const box = $("results");

  function clear() {
    box.replaceChildren();
    delete box.dataset.previewsShown;
  }

  function removeEmptyNote() {
    const empty = box.querySelector(".empty");
    if (empty) empty.remove();
  }

  function showPreviews(previews) {
    box.dataset.previewsShown = Number(box.dataset.previewsShown || 0) + 1;
    removeEmptyNote();
    previews.forEach((url, index) => {
      let preview = box.querySelector(`.preview[data-index="${index}"]`);
      if (!preview) {
        if (box.querySelector(`figure[data-image][data-index="${index}"]`)) return;
        preview = cloneTemplate("preview-template");
        preview.dataset.index = index;
        preview.querySelector("img").alt = `Preview of image ${index + 1}`;
        box.append(preview);
      }
      preview.querySelector("img").src = url;
    });
  }

  // One image of the `image` event (or of the state snapshot); repeats are ignored.
  function addImage(image) {
    if (box.querySelector(`figure[data-image="${image.id}"]`)) return;
    removeEmptyNote();
    const figure = cloneTemplate("result-template");
    figure.dataset.image = image.id;
    figure.dataset.index = image.index;
    figure.querySelector("a.page").href = routes.imagePage(projectId, image.id);
    const img = figure.querySelector("img");
    img.src = image.url;
    img.alt = `Result ${image.index + 1}, seed ${image.seed}`;
    figure.querySelector("figcaption").textContent = `seed ${image.seed} · ${image.width}×${image.height}`;
    figure.querySelector(".download").href = routes.imageDownload(image.id);
    const on = (selector, handler) => {
      const button = figure.querySelector(selector);
      if (button) button.addEventListener("click", handler);
      return button;
    };
    const save = figure.querySelector(".save");
    if (save) {
      showSaved(save, Boolean(image.saved));
      bindSaveButton(save, image.id);
    }
    on(".reference", () => actions.reference(image));
    on(".upscale", () => actions.upscale(image));
    on(".use", () => actions.use(image.id));
    const remove = on(".delete", async () => {
      if (!confirmed(remove)) return;
      const { ok, body } = await api(routes.image(image.id), { method: "DELETE" });
      if (!ok) { actions.error(body); return; }
      figure.remove();
      actions.deleted(image);
    });
    const preview = box.querySelector(`.preview[data-index="${image.index}"]`);
    if (preview) preview.replaceWith(figure);
    else box.append(figure);
  }

  const hasImages = () => Boolean(box.querySelector("figure[data-image]"));
  const markAllSaved = () => box.querySelectorAll("figure .save").forEach((button) => showSaved(button, true));

  return { clear, showPreviews, addImage, hasImages, markAllSaved };
}
