// Drawing QR codes (the projector): wraps the vendored qrcode-generator so
// pages never touch it. Apart from qr_decode.js, so that the projector never
// downloads the decoder and the scanner's worker never the encoder.

import qrcode from "../../vendor/qrcode-generator-2.0.4/qrcode.mjs";

// Level M (15 % of codewords recoverable) keeps a 75-character base45
// payload at version 4 (33×33 modules). From the back of a lecture hall the
// limit is how many camera pixels land on each module, so fewer, larger
// modules beat more redundancy; M still absorbs a glare spot or a head in
// the way, which L (7 %) would not. Q and H would need versions 5 and 6.
// With the quiet zone the code is 41 modules wide: a full-height code on a
// 1080p projector gets 26-pixel modules.
export const EC_LEVEL = "M";
// The standard's quiet zone; drawn into the canvas so it never depends on
// the colour of what surrounds it.
export const QUIET_MODULES = 4;

const QR_ALPHANUMERIC = /^[0-9A-Z $%*+\-./:]*$/;

/** The module matrix of `text`: alphanumeric mode when the text allows it, else bytes. */
function encodeQr(text) {
  const code = qrcode(0, EC_LEVEL);
  code.addData(text, QR_ALPHANUMERIC.test(text) ? "Alphanumeric" : "Byte");
  code.make();
  return code;
}

/** Size `canvas` to a white `size`×`size` square (a code's quiet zone, a frame's background); its 2D context. */
export function whiteSquare(canvas, size) {
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, size, size);
  return context;
}

/**
 * Draw `text` as a QR code filling a square of at most `pixels` device
 * pixels (quiet zone included). Every module is the same whole number of
 * pixels, so edges stay sharp; scale the canvas with CSS
 * `image-rendering: pixelated` if it must grow further.
 * Returns {modules, moduleSize, size} where size is the canvas side.
 */
export function drawQr(canvas, text, { pixels }) {
  if (!(pixels > 0)) {
    throw new TypeError("drawQr needs the side in device pixels: { pixels }");
  }
  const code = encodeQr(text);
  const modules = code.getModuleCount();
  const units = modules + 2 * QUIET_MODULES;
  const moduleSize = Math.max(1, Math.floor(pixels / units));
  const size = units * moduleSize;
  const context = whiteSquare(canvas, size);
  context.fillStyle = "#000";
  for (let row = 0; row < modules; row += 1) {
    for (let col = 0; col < modules; col += 1) {
      if (code.isDark(row, col)) {
        context.fillRect((col + QUIET_MODULES) * moduleSize, (row + QUIET_MODULES) * moduleSize, moduleSize, moduleSize);
      }
    }
  }
  return { modules, moduleSize, size };
}
