// The QR texts of camera frames, for the scanner's worker (qr_worker.js).

import { decodeQr, decodeQrGrid, findGridCode } from "/static/js/lib/qr_decode.js";

// Projectors may show a grid of codes (QR_PER_FRAME > 1); the phone is not told which.
const GRIDS = [2, 3];
const LARGEST_GRID = Math.max(...GRIDS);
// A grid search costs many window decodes (hundreds of milliseconds on a phone):
// after one finds no grid, whole-frame decodes only for this long.
const GRID_IDLE_MS = 1500;

/**
 * A reader of consecutive frames: `read(image)` gives the texts of one
 * frame (an ImageData or {data, width, height}). A whole-frame decode reads
 * one code even when several share the frame; when it reads nothing, a
 * window search looks for one code of a grid, first with the grid size that
 * last worked. From that one code the grid reader reads its neighbours, as
 * far as the largest grid reaches (a corner code of a 3×3 grid found by the
 * 2×2 search still leads to all nine). When no grid turns up, whole-frame
 * decodes only, for a while.
 */
export function frameReader({ now = () => performance.now() } = {}) {
  let grid = null;
  let idleUntil = 0;
  const search = (image) => {
    for (const size of grid === null ? GRIDS : [grid, ...GRIDS.filter((other) => other !== grid)]) {
      const found = findGridCode(image, size);
      if (found) {
        grid = size;
        return found;
      }
    }
    return null;
  };
  return function read(image) {
    const single = decodeQr(image);
    if (now() < idleUntil) {
      return single ? [single.text] : [];
    }
    const first = single ?? search(image);
    if (!first) {
      idleUntil = now() + GRID_IDLE_MS;
      return [];
    }
    const texts = decodeQrGrid(image, LARGEST_GRID, first);
    if (single && texts.length === 1) {
      idleUntil = now() + GRID_IDLE_MS;
    }
    return texts;
  };
}
