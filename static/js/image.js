// The image page: Save toggles the image in the project's saved set through the API.
(function () {
  "use strict";
  const button = document.getElementById("save-toggle");
  if (!button) return;
  const imageId = document.getElementById("image-page").dataset.image;
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  button.addEventListener("click", async () => {
    const saved = button.dataset.saved !== "true";
    const response = await fetch(`/api/v1/images/${imageId}/`, {
      method: "PATCH",
      headers: { "Content-Type": "application/json", "X-CSRFToken": decodeURIComponent(csrf) },
      body: JSON.stringify({ saved }),
      credentials: "same-origin",
    });
    if (!response.ok) return;
    button.dataset.saved = String(saved);
    button.textContent = saved ? "★ Saved" : "☆ Save";
  });
})();
