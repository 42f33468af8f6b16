// Small DOM helpers shared by the pages: markup lives in <template> elements of the
// Django templates; code clones it and fills its [data-field] slots.

export const $ = (id) => document.getElementById(id);

// A copy of <template id="…">'s first element.
export function cloneTemplate(id) {
  return $(id).content.firstElementChild.cloneNode(true);
}

// Sets the text of each [data-field=name] inside `node` that `fields` names.
export function fill(node, fields) {
  for (const [name, value] of Object.entries(fields)) {
    node.querySelectorAll(`[data-field="${name}"]`).forEach((slot) => { slot.textContent = value; });
  }
  return node;
}

// The question in the element's data-confirm, asked before a destructive action.
export function confirmed(element) {
  return !element.dataset.confirm || window.confirm(element.dataset.confirm);
}

// Fills a progress bar ([role=progressbar] with a .bar inside) and keeps the numbers on it.
export function setBar(progress, step, total) {
  const percent = total ? Math.round((100 * step) / total) : 0;
  progress.querySelector(".bar").style.width = `${percent}%`;
  progress.setAttribute("aria-valuenow", String(percent));
  progress.dataset.step = String(step);
  progress.dataset.total = String(total || 0);
}
