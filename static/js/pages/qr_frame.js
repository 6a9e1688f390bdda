// One projector frame on a canvas: its codes as large as the box allows,
// several as a square grid drawn edge to edge (quiet zones touching), the
// layout qr.js's decodeQrGrid reads best.

import { drawQr, whiteSquare } from "/static/js/lib/qr_encode.js";

/** The side of the square grid for `perFrame` codes: 1, 2 (up to 4 codes), 3 (up to 9)… */
export function gridSide(perFrame) {
  return Math.max(1, Math.ceil(Math.sqrt(perFrame)));
}

/**
 * Draw `texts` (at least one) on `canvas` as a `grid`×`grid` square fitting `pixels` device
 * pixels, row by row; cells without a code stay white. The canvas is shown
 * at its size in CSS pixels (device pixels / devicePixelRatio), so every
 * module is a whole number of screen pixels. Returns the canvas side.
 */
export function drawFrame(canvas, texts, { pixels, grid }) {
  const cellPixels = Math.floor(pixels / grid);
  const drawn = texts.map((text) => {
    const code = document.createElement("canvas");
    drawQr(code, text, { pixels: cellPixels });
    return code;
  });
  // The codes of a frame have the same length, hence the same size.
  const side = Math.max(...drawn.map((code) => code.width));
  const size = side * grid;
  const context = whiteSquare(canvas, size);
  drawn.forEach((code, index) => {
    context.drawImage(code, (index % grid) * side, Math.floor(index / grid) * side);
  });
  const cssSize = `${size / (globalThis.devicePixelRatio || 1)}px`;
  canvas.style.width = cssSize;
  canvas.style.height = cssSize;
  return size;
}
