// The inpainting mask: painted in white on a canvas laid over the base image, at the
// image's own size, and sent as white-on-black PNG (the format the engine expects).
import { $ } from "./dom.js";

export function initMask() {
  const canvas = $("mask-canvas");
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
  $("clear-mask").addEventListener("click", clearMask);
}

// A fresh, empty mask the size of the base image.
export function resetMask(width, height) {
  const canvas = $("mask-canvas");
  canvas.width = width;
  canvas.height = height;
  clearMask();
}

export function clearMask() {
  const canvas = $("mask-canvas");
  canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.painted = "";
}

export const maskPainted = () => Boolean($("mask-canvas").dataset.painted);

export function maskBlob() {
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
