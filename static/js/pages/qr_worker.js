// The scanner's decoding, off the page's main thread (a module worker):
// decoding takes tens of milliseconds per camera frame and a grid search far
// more, which would otherwise delay the page's socket and screen. Each
// message is a frame {data, width, height}; the answer, its QR texts.

import { frameReader } from "./qr_reading.js";

const read = frameReader();

// Every frame gets an answer, even one the decoder throws on (reported as the
// worker's error): the page grabs its next frame only once this one is answered.
self.addEventListener("message", ({ data }) => {
  let texts = [];
  try {
    texts = read(data);
  } finally {
    self.postMessage(texts);
  }
});
