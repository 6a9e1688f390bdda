// The QR texts of camera frames, for the scanner's worker (qr_worker.js).

import { decodeQr, decodeQrGrid } from "/static/js/lib/qr.js";

// Projectors may show a grid of codes (QR_PER_FRAME > 1); the phone is not told which.
const GRIDS = [2, 3];
// A grid search over a frame without codes costs several single decodes (hundreds of
// milliseconds on a phone): after one finds nothing, single decodes only for this long.
const GRID_IDLE_MS = 1500;

/**
 * A reader of consecutive frames: `read(image)` gives the texts of one
 * frame (an ImageData or {data, width, height}). A frame with one code reads
 * directly; when several codes share it jsQR finds none, so the grid reader
 * runs, first with the grid size that last worked.
 */
export function frameReader({ now = () => performance.now() } = {}) {
  let grid = null;
  let idleUntil = 0;
  return function read(image) {
    const single = decodeQr(image);
    if (single) {
      return [single.text];
    }
    if (now() < idleUntil) {
      return [];
    }
    for (const size of grid === null ? GRIDS : [grid, ...GRIDS.filter((other) => other !== grid)]) {
      const texts = decodeQrGrid(image, size);
      if (texts.length > 0) {
        grid = size;
        return texts;
      }
    }
    idleUntil = now() + GRID_IDLE_MS;
    return [];
  };
}
