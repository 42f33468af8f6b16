// The image page: Save toggles the image in the project's saved set.
(function () {
  "use strict";
  const button = document.getElementById("save-toggle");
  if (button) window.DeepImage.bindSaveButton(button, document.getElementById("image-page").dataset.image);
})();
