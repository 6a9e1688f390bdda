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
 * Show the rear camera (by default) in `video` and resolve once it plays.
 * `playsinline` and `muted` keep iOS Safari from going full screen.
 */
export async function openCamera(video, { facingMode = "environment" } = {}) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new CameraError("CAMERA_UNSUPPORTED", "This browser offers no camera access here");
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: facingMode }, width: { ideal: 1280 }, height: { ideal: 720 } },
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

/**
 * The current video frame as ImageData, scaled down so its longer side is at
 * most `maxSide` pixels (decoding time grows with the pixel count; a code
 * that fills a fair part of the view keeps enough pixels per module).
 * null while the video has no frame yet.
 */
export function grabFrame(video, canvas, { maxSide = 960 } = {}) {
  const { videoWidth, videoHeight } = video;
  if (!videoWidth || !videoHeight) {
    return null;
  }
  const scale = Math.min(1, maxSide / Math.max(videoWidth, videoHeight));
  const width = Math.round(videoWidth * scale);
  const height = Math.round(videoHeight * scale);
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
  }
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, 0, 0, width, height);
  return context.getImageData(0, 0, width, height);
}
