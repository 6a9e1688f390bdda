// The scanner's eyes: the rear camera in a <video>, a frame grabbed a few
// times a second and decoded in a worker (qr_worker.js), every frame's QR
// texts handed to the page. Frames alternate between the whole picture
// (scaled down) and its centre at the camera's full resolution, which reads
// a code twice or more as far away (docs/readability.md).

import { closeCamera, grabFrame, openCamera, View } from "/static/js/lib/camera.js";

// Enough to catch a code shown for a third of a second; more only burns a phone's battery.
const FRAME_INTERVAL_MS = 110;

const VIEWS = [View.WHOLE, View.CENTRE];

/**
 * Open the camera in `video` and call `onTexts(texts)` for every decoded
 * frame, with or without codes (one frame at a time: the next is grabbed
 * once it is done).
 * Resolves once the camera plays with `stop()`; rejects with the
 * CameraError of camera.js.
 */
export async function startReading(video, onTexts) {
  // The worker (its decoder already in the cache) starts while the camera opens.
  const worker = new Worker(new URL("./qr_worker.js", import.meta.url), { type: "module" });
  try {
    await openCamera(video, { facingMode: "environment" });
  } catch (error) {
    worker.terminate();
    throw error;
  }
  const canvas = document.createElement("canvas");
  let running = true;
  let busy = false;
  let last = -Infinity;
  let frames = 0;

  worker.addEventListener("error", (event) => {
    globalThis.reportError(new Error(`QR decoding failed: ${event.message}`));
  });
  worker.addEventListener("message", async ({ data: texts }) => {
    try {
      if (running) {
        await onTexts(texts);
      }
    } finally {
      busy = false;
    }
  });

  function look(now) {
    if (!running) {
      return;
    }
    requestAnimationFrame(look);
    if (busy || now - last < FRAME_INTERVAL_MS) {
      return;
    }
    const image = grabFrame(video, canvas, { view: VIEWS[frames % VIEWS.length] });
    if (image === null) {
      return;
    }
    last = now;
    frames += 1;
    busy = true;
    const { data, width, height } = image;
    worker.postMessage({ data, width, height }, [data.buffer]);
  }

  requestAnimationFrame(look);
  return function stop() {
    running = false;
    worker.terminate();
    closeCamera(video);
  };
}
