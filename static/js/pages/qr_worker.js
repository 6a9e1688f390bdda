// The scanner's decoding, off the page's main thread (a module worker):
// jsQR takes tens of milliseconds per camera frame and a grid search far
// more, which would otherwise delay the page's socket and screen. Each
// message is a frame {data, width, height}; the answer, its QR texts.

import { frameReader } from "./qr_reading.js";

const read = frameReader();

self.addEventListener("message", ({ data }) => {
  self.postMessage(read(data));
});
