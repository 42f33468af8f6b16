// The image page: Save toggles the image in the project's saved set; Delete asks first.
import { $, confirmed } from "./dom.js";
import { bindSaveButton } from "./save.js";

const button = $("save-toggle");
if (button) bindSaveButton(button, $("image-page").dataset.image);
const deleteForm = $("delete-form");
if (deleteForm) deleteForm.addEventListener("submit", (event) => { if (!confirmed(deleteForm)) event.preventDefault(); });
