// Finding QR codes in camera frames (the scanner's worker): wraps the vendored
// @paulmillr/qr decoder so pages never touch it. Apart from qr_encode.js, so
// that the projector never downloads the decoder.

import { decodeQR } from "../../vendor/paulmillr-qr-0.3.0/decode.js";
import { QUIET_MODULES } from "./qr_encode.js";

// A finder pattern's centre lies 3.5 modules inside the code's corner.
const FINDER_CENTRE = 3.5;

/** The side in modules of the code whose finder centres are `topLeft`, `topRight`, `bottomLeft`. */
function moduleCount(topLeft, topRight, bottomLeft) {
  const side = (Math.hypot(topRight.x - topLeft.x, topRight.y - topLeft.y)
    + Math.hypot(bottomLeft.x - topLeft.x, bottomLeft.y - topLeft.y)) / 2;
  const estimate = Math.round(side / topLeft.moduleSize) + 7;
  // Versions have 17 + 4v modules: round to the nearest such side.
  return 17 + 4 * Math.max(1, Math.round((estimate - 17) / 4));
}

/**
 * The one QR code in `image` (an ImageData or {data, width, height}):
 * {text, modules, corners: [topLeft, topRight, bottomRight, bottomLeft]} or null.
 */
export function decodeQr(image) {
  let finders = null;
  let text;
  try {
    text = decodeQR(image, { pointsOnDetect: (points) => { finders = points; } });
  } catch {
    // The decoder throws when it finds no readable code: most camera frames.
    return null;
  }
  const [topLeft, topRight, , bottomLeft] = finders;
  const modules = moduleCount(topLeft, topRight, bottomLeft);
  const span = modules - 2 * FINDER_CENTRE;
  const across = { x: (topRight.x - topLeft.x) / span, y: (topRight.y - topLeft.y) / span };
  const down = { x: (bottomLeft.x - topLeft.x) / span, y: (bottomLeft.y - topLeft.y) / span };
  const at = (col, row) => ({
    x: topLeft.x + (col - FINDER_CENTRE) * across.x + (row - FINDER_CENTRE) * down.x,
    y: topLeft.y + (col - FINDER_CENTRE) * across.y + (row - FINDER_CENTRE) * down.y,
  });
  return { text, modules, corners: [at(0, 0), at(modules, 0), at(modules, modules), at(0, modules)] };
}

function crop(image, x, y, width, height) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let row = 0; row < height; row += 1) {
    const start = ((y + row) * image.width + x) * 4;
    data.set(image.data.subarray(start, start + width * 4), row * width * 4);
  }
  return { data, width, height };
}

/** `image` at half its width and height, each pixel the mean of four. */
function halve(image) {
  const width = image.width >> 1;
  const height = image.height >> 1;
  const data = new Uint8ClampedArray(width * height * 4);
  const rowBytes = image.width * 4;
  for (let row = 0; row < height; row += 1) {
    for (let col = 0; col < width; col += 1) {
      const from = row * 2 * rowBytes + col * 8;
      const to = (row * width + col) * 4;
      for (let channel = 0; channel < 4; channel += 1) {
        const at = from + channel;
        data[to + channel] = (image.data[at] + image.data[at + 4] + image.data[at + rowBytes]
          + image.data[at + rowBytes + 4] + 2) >> 2;
      }
    }
  }
  return { data, width, height };
}

// Below this many pixels a window's code would have modules under 2 pixels once halved.
const SMALLEST_HALVED_WINDOW = 164;

/**
 * The code in `window`, read again at half size when the full-size read
 * fails: the decoder sometimes takes a patch of data modules for a finder
 * pattern and gives up on a perfectly sharp code (seen on about one
 * code in 300 of a tilted grid); halving changes every run length, and
 * with it that false match. Windows only: a grid's cells are each tried
 * once, where a camera's whole frame comes again a moment later.
 */
function decodeWindowImage(window) {
  const found = decodeQr(window);
  if (found || Math.min(window.width, window.height) < SMALLEST_HALVED_WINDOW) {
    return found;
  }
  const half = decodeQr(halve(window));
  if (half) {
    half.corners = half.corners.map((p) => ({ x: p.x * 2, y: p.y * 2 }));
  }
  return half;
}

function decodeWindow(image, centerX, centerY, side) {
  const size = Math.min(Math.round(side), image.width, image.height);
  const x = Math.min(Math.max(0, Math.round(centerX - size / 2)), image.width - size);
  const y = Math.min(Math.max(0, Math.round(centerY - size / 2)), image.height - size);
  const found = decodeWindowImage(crop(image, x, y, size, size));
  if (found) {
    found.corners = found.corners.map((p) => ({ x: p.x + x, y: p.y + y }));
  }
  return found;
}

// Search windows, largest first, each about one grid cell, overlapping by two thirds.
const SEARCH_SCALES = [1, 0.8, 0.64];

/** One code of a frame showing a `grid`×`grid` arrangement of codes (searched window by window), or null. */
export function findGridCode(image, grid) {
  const short = Math.min(image.width, image.height);
  for (const scale of SEARCH_SCALES) {
    const side = (short * scale) / grid;
    const stride = side / 3;
    for (let y = side / 2; y < image.height - side / 2 + stride; y += stride) {
      for (let x = side / 2; x < image.width - side / 2 + stride; x += stride) {
        const found = decodeWindow(image, x, y, side);
        if (found) {
          return found;
        }
      }
    }
  }
  return null;
}

/**
 * Every QR code of a frame that shows a `grid`×`grid` arrangement of codes
 * (the projector's QR_PER_FRAME > 1). The decoder finds one code per call and
 * gives up when several share the image, so a grid is read window by window:
 * 1. search for any one code with windows of about a cell;
 * 2. from its corners (size, tilt), one window on each cell where a
 *    neighbour sits if the codes are drawn edge to edge, quiet zones
 *    touching (how a projector should lay them out: largest modules);
 * 3. if codes are still missing (another layout), slide a window of the
 *    found code's size over the whole frame, twice, the second pass offset.
 * `known`: a code already read in this frame by `decodeQr` (which reads one
 * code of a grid as if it stood alone): step 1 is skipped and so is step 3,
 * the frame holds what step 2 finds around it (the projector's layout).
 * Returns the distinct texts found.
 */
export function decodeQrGrid(image, grid, known = null) {
  if (grid <= 1) {
    const found = known ?? decodeQr(image);
    return found ? [found.text] : [];
  }
  const first = known ?? findGridCode(image, grid);
  if (!first) {
    return [];
  }
  const texts = new Set([first.text]);
  const tryWindow = (x, y, side) => {
    const found = decodeWindow(image, x, y, side);
    if (found) {
      texts.add(found.text);
    }
  };
  const [topLeft, topRight, , bottomLeft] = first.corners;
  const center = first.corners.reduce((sum, p) => ({ x: sum.x + p.x / 4, y: sum.y + p.y / 4 }), { x: 0, y: 0 });
  // The corners bound the modules; with the quiet zone a code spans `stretch` times that.
  const stretch = (first.modules + 2 * QUIET_MODULES) / first.modules;
  const across = { x: (topRight.x - topLeft.x) * stretch, y: (topRight.y - topLeft.y) * stretch };
  const down = { x: (bottomLeft.x - topLeft.x) * stretch, y: (bottomLeft.y - topLeft.y) * stretch };
  const side = Math.max(Math.hypot(across.x, across.y), Math.hypot(down.x, down.y));
  for (let row = 1 - grid; row < grid; row += 1) {
    for (let col = 1 - grid; col < grid; col += 1) {
      const x = center.x + col * across.x + row * down.x;
      const y = center.y + col * across.y + row * down.y;
      if ((row || col) && x >= 0 && y >= 0 && x < image.width && y < image.height) {
        tryWindow(x, y, side);
      }
    }
  }
  if (known !== null) {
    return [...texts];
  }
  const slide = side * 1.2;
  const stride = side / 3;
  // Two passes, the second offset by half a stride: a code the decoder misreads in one window reads in another.
  for (const offset of [0, stride / 2]) {
    for (let y = slide / 2 + offset; y < image.height - slide / 2 + stride && texts.size < grid * grid; y += stride) {
      for (let x = slide / 2 + offset; x < image.width - slide / 2 + stride && texts.size < grid * grid; x += stride) {
        tryWindow(x, y, slide);
      }
    }
  }
  return [...texts];
}
