// Readability from the back of a room: the scanner's own decoder
// (static/js/lib/qr_decode.js) on synthetic camera frames of a projected
// code, degraded as a phone sees it (docs/readability.md has the model).
// Run by bench/readability.py, which prints the table; on its own:
//
//   node --experimental-detect-module bench/readability.mjs '{"trials": 24}'
//
// prints one JSON line per (distance, configuration).

import qrcode from "../static/vendor/qrcode-generator-2.0.4/qrcode.mjs";
import { decodeQr } from "../static/js/lib/qr_decode.js";
import { EC_LEVEL, QUIET_MODULES } from "../static/js/lib/qr_encode.js";

const settings = {
  // The room and the projected code.
  codeSideM: 1.55, // the code, quiet zone included, on a 3 m wide 16:9 screen (the stage's height)
  // The phone.
  cameraWidth: 1920, // the stream's longer side (a 1080p stream; the sensor is larger)
  cameraHeight: 1080,
  fovDegrees: 66, // horizontal field of view of a phone's main camera (26 mm equivalent)
  scanSide: 960, // what the scanner decodes per frame (camera.js maxSide)
  // What a real picture adds.
  blurSigma: 1.6, // stream pixels at zoom 1: focus, hand shake, the projector's own softness, the ISP
  noiseSigma: 8, // grey levels
  black: 70, // a lit room washes the projector's black out
  white: 215,
  yawDegrees: 30, // seated off-axis, up to
  pitchDegrees: 12, // the screen above the eyes, up to
  rollDegrees: 8, // the hand's tilt, up to
  aimSpread: 0.15, // the code's centre within this fraction of the frame from its centre
  distances: [4, 6, 8, 10, 12, 14, 16, 20],
  zooms: [1, 2],
  trials: 24,
  seed: 20261206,
  ...JSON.parse(process.argv[2] ?? "{}"),
};

// --- reproducible randomness ------------------------------------------------------------

function mulberry32(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(settings.seed);
const uniform = (low, high) => low + (high - low) * random();
function gaussian() {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

// A projector's code text: 75 base45 characters (docs/protocol.md), random.
const BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
function codeText() {
  return Array.from({ length: 75 }, () => BASE45[Math.floor(random() * BASE45.length)]).join("");
}

function moduleMatrix(text) {
  const code = qrcode(0, EC_LEVEL);
  code.addData(text, "Alphanumeric");
  code.make();
  const count = code.getModuleCount();
  const units = count + 2 * QUIET_MODULES;
  const dark = new Uint8Array(units * units);
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      dark[(row + QUIET_MODULES) * units + col + QUIET_MODULES] = code.isDark(row, col) ? 1 : 0;
    }
  }
  return { units, dark };
}

// --- geometry: the code as a tilted plane seen by a pinhole camera -------------------------

function rotation(yaw, pitch, roll) {
  const [cy, sy, cp, sp, cr, sr] = [Math.cos(yaw), Math.sin(yaw), Math.cos(pitch), Math.sin(pitch),
    Math.cos(roll), Math.sin(roll)];
  // R = Rz(roll) · Rx(pitch) · Ry(yaw)
  return [
    [cr * cy + sr * sp * sy, sr * cp, -cr * sy + sr * sp * cy],
    [-sr * cy + cr * sp * sy, cr * cp, sr * sy + cr * sp * cy],
    [cp * sy, -sp, cp * cy],
  ];
}

/** The 3×3 homography taking unit-square coordinates (u, v) ∈ [0,1]² to frame pixels, from 4 corners. */
function squareToQuad([p0, p1, p2, p3]) {
  const dx1 = p1.x - p2.x;
  const dx2 = p3.x - p2.x;
  const dy1 = p1.y - p2.y;
  const dy2 = p3.y - p2.y;
  const sx = p0.x - p1.x + p2.x - p3.x;
  const sy = p0.y - p1.y + p2.y - p3.y;
  const det = dx1 * dy2 - dx2 * dy1;
  const g = (sx * dy2 - dx2 * sy) / det;
  const h = (dx1 * sy - sx * dy1) / det;
  return [
    p1.x - p0.x + g * p1.x, p3.x - p0.x + h * p3.x, p0.x,
    p1.y - p0.y + g * p1.y, p3.y - p0.y + h * p3.y, p0.y,
    g, h, 1,
  ];
}

function invert3([a, b, c, d, e, f, g, h, i]) {
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A / det, -(b * i - c * h) / det, (b * f - c * e) / det,
    B / det, (a * i - c * g) / det, -(a * f - c * d) / det,
    C / det, -(a * h - b * g) / det, (a * e - b * d) / det];
}

/**
 * One sensor frame (grey levels, cameraWidth × cameraHeight) of the code `side` pixels wide
 * (as a fronto-parallel code would be), tilted and off-centre, blurred and noisy.
 */
function sensorFrame(matrix, side, zoom) {
  const { cameraWidth: width, cameraHeight: height } = settings;
  const focal = width / (2 * Math.tan((settings.fovDegrees * Math.PI) / 360));
  const rad = Math.PI / 180;
  const turn = rotation(uniform(-1, 1) * settings.yawDegrees * rad, uniform(-1, 1) * settings.pitchDegrees * rad,
    uniform(-1, 1) * settings.rollDegrees * rad);
  const centre = {
    x: width / 2 + uniform(-1, 1) * settings.aimSpread * width,
    y: height / 2 + uniform(-1, 1) * settings.aimSpread * height,
  };
  // The code's plane at the depth where `side` pixels is its fronto-parallel size.
  const corners = [[-0.5, -0.5], [0.5, -0.5], [0.5, 0.5], [-0.5, 0.5]].map(([u, v]) => {
    const [x, y, z] = turn.map((row) => row[0] * u * side + row[1] * v * side);
    const scale = focal / (focal + z);
    return { x: centre.x + x * scale, y: centre.y + y * scale };
  });
  const toFrame = squareToQuad(corners);
  const toCode = invert3(toFrame);
  const frame = new Float32Array(width * height).fill(settings.black + (settings.white - settings.black) * 0.45);
  const xs = corners.map((p) => p.x);
  const ys = corners.map((p) => p.y);
  const [left, right] = [Math.max(0, Math.floor(Math.min(...xs))), Math.min(width - 1, Math.ceil(Math.max(...xs)))];
  const [top, bottom] = [Math.max(0, Math.floor(Math.min(...ys))), Math.min(height - 1, Math.ceil(Math.max(...ys)))];
  const { units, dark } = matrix;
  const sub = [0.25, 0.75];
  for (let y = top; y <= bottom; y += 1) {
    for (let x = left; x <= right; x += 1) {
      let sum = 0;
      let inside = 0;
      for (const oy of sub) {
        for (const ox of sub) {
          const px = x + ox;
          const py = y + oy;
          const w = toCode[6] * px + toCode[7] * py + toCode[8];
          const u = (toCode[0] * px + toCode[1] * py + toCode[2]) / w;
          const v = (toCode[3] * px + toCode[4] * py + toCode[5]) / w;
          if (u >= 0 && u < 1 && v >= 0 && v < 1) {
            inside += 1;
            sum += dark[Math.floor(v * units) * units + Math.floor(u * units)] ? settings.black : settings.white;
          }
        }
      }
      if (inside > 0) {
        const index = y * width + x;
        frame[index] = (sum + (4 - inside) * frame[index]) / 4;
      }
    }
  }
  // Hand shake and optics are angles: a zoomed picture magnifies its blur as much as the code.
  blur(frame, width, height, settings.blurSigma * zoom);
  for (let i = 0; i < frame.length; i += 1) {
    frame[i] += gaussian() * settings.noiseSigma;
  }
  return frame;
}

function blur(frame, width, height, sigma) {
  const radius = Math.ceil(sigma * 3);
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const total = kernel.reduce((a, b) => a + b, 0);
  const weights = kernel.map((k) => k / total);
  const line = new Float32Array(Math.max(width, height));
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let sum = 0;
      for (let k = -radius; k <= radius; k += 1) {
        sum += weights[k + radius] * frame[y * width + Math.min(width - 1, Math.max(0, x + k))];
      }
      line[x] = sum;
    }
    frame.set(line.subarray(0, width), y * width);
  }
  for (let x = 0; x < width; x += 1) {
    for (let y = 0; y < height; y += 1) {
      let sum = 0;
      for (let k = -radius; k <= radius; k += 1) {
        sum += weights[k + radius] * frame[Math.min(height - 1, Math.max(0, y + k)) * width + x];
      }
      line[y] = sum;
    }
    for (let y = 0; y < height; y += 1) {
      frame[y * width + x] = line[y];
    }
  }
}

// --- the scanner's two views (camera.js grabFrame) -------------------------------------------

function rgba(grey, width, height) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < grey.length; i += 1) {
    const value = grey[i];
    data[4 * i] = data[4 * i + 1] = data[4 * i + 2] = value;
    data[4 * i + 3] = 255;
  }
  return { data, width, height };
}

/** The whole frame scaled so its longer side is scanSide (area average, as drawImage's downscale). */
function wholeView(frame) {
  const { cameraWidth: width, cameraHeight: height, scanSide } = settings;
  const factor = width / scanSide;
  const outWidth = Math.round(width / factor);
  const outHeight = Math.round(height / factor);
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y += 1) {
    for (let x = 0; x < outWidth; x += 1) {
      let sum = 0;
      let count = 0;
      for (let sy = Math.floor(y * factor); sy < Math.min(height, Math.floor((y + 1) * factor)); sy += 1) {
        for (let sx = Math.floor(x * factor); sx < Math.min(width, Math.floor((x + 1) * factor)); sx += 1) {
          sum += frame[sy * width + sx];
          count += 1;
        }
      }
      out[y * outWidth + x] = sum / count;
    }
  }
  return rgba(out, outWidth, outHeight);
}

/** The frame's centre at full resolution, scanSide wide (View.CENTRE). */
function centreView(frame) {
  const { cameraWidth: width, cameraHeight: height, scanSide } = settings;
  const outWidth = Math.min(width, scanSide);
  const outHeight = Math.round((height * outWidth) / width);
  const left = Math.round((width - outWidth) / 2);
  const top = Math.round((height - outHeight) / 2);
  const out = new Float32Array(outWidth * outHeight);
  for (let y = 0; y < outHeight; y += 1) {
    out.set(frame.subarray((top + y) * width + left, (top + y) * width + left + outWidth), y * outWidth);
  }
  return rgba(out, outWidth, outHeight);
}

// --- the table --------------------------------------------------------------------------

const focalPixels = settings.cameraWidth / (2 * Math.tan((settings.fovDegrees * Math.PI) / 360));
for (const distance of settings.distances) {
  for (const zoom of settings.zooms) {
    // The code's side in sensor pixels, fronto-parallel: its angle × the focal length (× zoom).
    const side = (settings.codeSideM / distance) * focalPixels * zoom;
    const read = { whole: 0, either: 0 };
    let modulePixels = 0;
    for (let trial = 0; trial < settings.trials; trial += 1) {
      const text = codeText();
      const matrix = moduleMatrix(text);
      modulePixels = side / matrix.units;
      const frame = sensorFrame(matrix, side, zoom);
      const whole = decodeQr(wholeView(frame))?.text === text;
      const centre = whole || decodeQr(centreView(frame))?.text === text;
      read.whole += whole ? 1 : 0;
      read.either += centre ? 1 : 0;
    }
    console.log(JSON.stringify({
      distance_m: distance,
      zoom,
      module_px_full: Number(modulePixels.toFixed(2)),
      module_px_960: Number(((modulePixels * settings.scanSide) / settings.cameraWidth).toFixed(2)),
      trials: settings.trials,
      read_960: read.whole / settings.trials,
      read_full: read.either / settings.trials,
    }));
  }
}
