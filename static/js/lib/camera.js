// The phone's camera as a source of frames for qr.js.

/**
 * Why the camera could not be opened; `code` is one of CAMERA_UNSUPPORTED
 * (no getUserMedia: old browser or a page not served over HTTPS),
 * CAMERA_DENIED, CAMERA_NOT_FOUND, CAMERA_BUSY (another app holds it) or
 * CAMERA_FAILED.
 */
export class CameraError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "CameraError";
    this.code = code;
  }
}

const CAMERA_CODES = {
  NotAllowedError: "CAMERA_DENIED",
  SecurityError: "CAMERA_DENIED",
  NotFoundError: "CAMERA_NOT_FOUND",
  OverconstrainedError: "CAMERA_NOT_FOUND",
  NotReadableError: "CAMERA_BUSY",
  AbortError: "CAMERA_BUSY",
};

/**
 * Show the rear camera (by default) in `video` and resolve once it plays,
 * at the largest size the camera offers (up to 4K): from the back of a
 * hall the code is a small patch of the view, and every sensor pixel on it
 * counts (docs/readability.md). `playsinline` and `muted` keep iOS Safari
 * from going full screen.
 */
export async function openCamera(video, { facingMode = "environment" } = {}) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError("CAMERA_UNSUPPORTED", "This browser offers no camera access here");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: facingMode }, width: { ideal: 3840 }, height: { ideal: 2160 } },
    });
  } catch (error) {
    throw new CameraError(CAMERA_CODES[error.name] ?? "CAMERA_FAILED", error.message);
  }
  video.setAttribute("playsinline", "");
  video.muted = true;
  video.srcObject = stream;
  await video.play();
  return stream;
}

/** Stop the camera shown in `video`. */
export function closeCamera(video) {
  for (const track of video.srcObject?.getTracks() ?? []) {
    track.stop();
  }
  video.srcObject = null;
}

/** The views a scanner alternates between (docs/readability.md): */
export const View = Object.freeze({
  // the whole picture scaled down to `maxSide`: a code near the camera, anywhere in view;
  WHOLE: "whole",
  // the picture's centre at the camera's own resolution, `maxSide` wide: a far code, aimed at.
  CENTRE: "centre",
});

/**
 * The current video frame as ImageData, at most `maxSide` pixels on its
 * longer side (decoding time grows with the pixel count): the whole
 * picture scaled down, or its centre at full resolution (`view`). null
 * while the video has no frame yet.
 */
export function grabFrame(video, canvas, { maxSide = 960, view = View.WHOLE } = {}) {
  const { videoWidth, videoHeight } = video;
  if (!videoWidth || !videoHeight) {
    return null;
  }
  const longer = Math.max(videoWidth, videoHeight);
  const part = view === View.CENTRE ? Math.min(1, maxSide / longer) : 1;
  const sourceWidth = Math.round(videoWidth * part);
  const sourceHeight = Math.round(videoHeight * part);
  const scale = Math.min(1, maxSide / Math.max(sourceWidth, sourceHeight));
  const width = Math.round(sourceWidth * scale);
  const height = Math.round(sourceHeight * scale);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, (videoWidth - sourceWidth) / 2, (videoHeight - sourceHeight) / 2, sourceWidth, sourceHeight,
                    0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}

/**
 * The camera's zoom in `video`, where the browser offers it (the
 * MediaStreamTrack `zoom` constraint: Chrome on Android, not Safari):
 * {min, max, step, value}, or null.
 */
export function cameraZoom(video) {
  const [track] = video.srcObject?.getVideoTracks?.() ?? [];
  const range = track?.getCapabilities?.().zoom;
  if (!range || !(range.max > range.min)) {
    return null;
  }
  return { min: range.min, max: range.max, step: range.step || 0.1, value: track.getSettings().zoom ?? range.min };
}

/** Zoom the camera in `video` to `value` (within cameraZoom's range); resolves once applied. */
export async function setCameraZoom(video, value) {
  const [track] = video.srcObject?.getVideoTracks?.() ?? [];
  await track?.applyConstraints({ advanced: [{ zoom: value }] });
}
