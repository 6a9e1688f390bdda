// The QR texts of camera frames, for the scanner's worker (qr_worker.js).

import { decodeQr, decodeQrGrid } from "/static/js/lib/qr_decode.js";

// Projectors may show a grid of codes (QR_PER_FRAME > 1); the phone is not told which.
const GRIDS = [2, 3];
const LARGEST_GRID = Math.max(...GRIDS);
// A grid search costs many window decodes (hundreds of milliseconds on a phone):
// after one finds no grid, whole-frame decodes only for this long.
const GRID_IDLE_MS = 1500;

/**
 * A reader of consecutive frames: `read(image)` gives the texts of one
 * frame (an ImageData or {data, width, height}). A whole-frame decode reads
 * one code even when several share the frame, so the grid reader then looks
 * for neighbours around it; when the whole-frame decode reads nothing, the
 * grid reader searches the frame, first with the grid size that last
 * worked. When either finds no grid, whole-frame decodes only, for a while.
 */
export function frameReader({ now = () => performance.now() } = {}) {
  let grid = null;
  let idleUntil = 0;
  return function read(image) {
    const single = decodeQr(image);
    if (now() < idleUntil) {
      return single ? [single.text] : [];
    }
    if (single) {
      const texts = decodeQrGrid(image, LARGEST_GRID, single);
      if (texts.length === 1) {
        idleUntil = now() + GRID_IDLE_MS;
      }
      return texts;
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
