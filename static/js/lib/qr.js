// QR codes in the browser, as one module: drawing (qr_encode.js, the
// projector's) and reading (qr_decode.js, the scanner's). Pages import the
// half they use, so each downloads only its own library.

export { drawQr, EC_LEVEL, QUIET_MODULES } from "./qr_encode.js";
export { decodeQr, decodeQrGrid } from "./qr_decode.js";
