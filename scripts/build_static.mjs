// Builds static/ into build/ (run through scripts/build-static):
//
//   build/static/   every file the browser gets, named after its content
//                   (app-3F2A….css, scan-Q7….js, chunks/…), each text file of
//                   1 KB or more also as .br and .gz next to it (the server
//                   sends those as they are); served under /static/ with
//                   year-long immutable caching.
//   build/sw.js     the scanner's service worker, under a fixed URL
//                   (/asistencia/sw.js), with this build's precache list.
//   build/assets.json  what the server reads at startup: the URL of every
//                   source file that pages name, and per page entry the
//                   chunks to preload.
//
// Page scripts are bundled with esbuild (code shared between pages in
// chunks, minified, the message catalog inlined once in the shared chunk);
// the scanner's decoding worker is a bundle of its own without imports, so
// one prefetched file is all it needs. A file's name is the hash of its
// content, and an importer's content names its imports' hashed files: a
// change anywhere renames every file that depends on it, so a phone never
// runs old and new modules together.

import { createHash } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import zlib from "node:zlib";

import * as esbuild from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = path.join(ROOT, "static");
const TEMPLATES = path.join(ROOT, "asistencia", "templates");
const CATALOG = path.join(ROOT, "asistencia", "messages", "es_CL.json");
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, "build"));
const PUBLIC = "/static/";
// Chromium runs module workers and top-level await from these versions on.
const TARGET = ["chrome100", "firefox115", "safari16"];
// Smaller text files gain less from compression than a response header costs.
const COMPRESS_FROM_BYTES = 1024;
const COMPRESSIBLE = new Set([".js", ".css", ".json", ".svg"]);
// What the installed scanner needs offline, besides the files of its page.
const SCANNER_ENTRY = "js/pages/scan.js";
const OFFLINE_ENTRY = "js/pages/offline.js";
const WORKER = "js/pages/qr_worker.js";
const OFFLINE_PAGE = "/asistencia/offline";
const ICONS = [
  { file: "icons/icon-192.png", sizes: "192x192", purpose: "any" },
  { file: "icons/icon-512.png", sizes: "512x512", purpose: "any" },
  { file: "icons/maskable-512.png", sizes: "512x512", purpose: "maskable" },
];
const THEME_COLOR = "#084785";
const BACKGROUND_COLOR = "#f6f7f9";

const hashOf = (bytes) => createHash("sha256").update(bytes).digest("base64url").slice(0, 12);
const relative = (file) => path.relative(SOURCE, file).split(path.sep).join("/");

/** Every page script the templates load: `asset('js/pages/x.js')`. */
async function pageEntries() {
  const found = new Set();
  for (const name of await readdir(TEMPLATES)) {
    const text = await readFile(path.join(TEMPLATES, name), "utf8");
    for (const match of text.matchAll(/page_script\s*=\s*["'](js\/[^"']+\.js)["']/g)) {
      found.add(match[1]);
    }
  }
  return [...found].sort();
}

/** The shared library modules, each its own entry too: the browser tests import them one by one. */
async function libraryEntries() {
  return (await readdir(path.join(SOURCE, "js", "lib"))).filter((name) => name.endsWith(".js")).sort()
    .map((name) => `js/lib/${name}`);
}

/**
 * Resolves the pages' absolute imports (`/static/js/lib/api.js`) to files,
 * and `new URL("./x.js", import.meta.url)` (how a page names its worker) to
 * the worker's built URL. Vendored libraries are marked free of side
 * effects so a bundle keeps only what it uses of them.
 */
function staticFiles(workers) {
  return {
    name: "static-files",
    setup(build) {
      build.onResolve({ filter: /^\/static\// }, (args) => ({ path: path.join(SOURCE, args.path.slice(PUBLIC.length)) }));
      build.onResolve({ filter: /vendor\// }, (args) => ({
        path: path.resolve(args.resolveDir, args.path), sideEffects: false,
      }));
      build.onLoad({ filter: /\.js$/ }, async (args) => {
        let contents = await readFile(args.path, "utf8");
        contents = contents.replace(/new URL\((["'])(\.{1,2}\/[^"']+\.js)\1,\s*import\.meta\.url\)/g, (whole, quote, spec) => {
          const target = relative(path.resolve(path.dirname(args.path), spec));
          if (!workers.has(target)) {
            throw new Error(`${relative(args.path)}: ${spec} is not a built worker`);
          }
          return `new URL(${JSON.stringify(workers.get(target))}, import.meta.url)`;
        });
        return { contents, loader: "js" };
      });
    },
  };
}

const COMMON = {
  bundle: true,
  minify: true,
  format: "esm",
  target: TARGET,
  legalComments: "none",
  charset: "utf8",
  write: false,
  metafile: true,
  logLevel: "warning",
  absWorkingDir: ROOT,
};

const publicName = (file) => path.relative(path.join(OUT, "static"), path.resolve(ROOT, file)).split(path.sep).join("/");

/** Write esbuild's output files under their hashed names; returns {source entry → URL} and every URL's imports. */
async function emit(result, files) {
  const entries = new Map();
  const imports = new Map();
  for (const output of result.outputFiles) {
    const name = publicName(output.path);
    files.set(name, output.contents);
    const meta = result.metafile.outputs[path.relative(ROOT, output.path).split(path.sep).join("/")];
    imports.set(PUBLIC + name, meta.imports.filter((i) => i.kind === "import-statement").map((i) => PUBLIC + publicName(i.path)));
    if (meta.entryPoint) {
      entries.set(relative(path.resolve(ROOT, meta.entryPoint)), PUBLIC + name);
    }
  }
  return { entries, imports };
}

/** The static import closure of `url` (the chunks a page needs before it runs), the entry itself excluded. */
function closure(url, imports) {
  const seen = new Set();
  const walk = (from) => {
    for (const next of imports.get(from) ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        walk(next);
      }
    }
  };
  walk(url);
  return [...seen].sort();
}

async function buildScripts(files) {
  const worker = await esbuild.build({
    ...COMMON, entryPoints: [path.join(SOURCE, WORKER)], outdir: path.join(OUT, "static"), outbase: SOURCE,
    entryNames: "[dir]/[name]-[hash]", plugins: [staticFiles(new Map())],
  });
  const workerBuild = await emit(worker, files);
  const workers = new Map([[WORKER, workerBuild.entries.get(WORKER)]]);
  const pages = await pageEntries();
  const libraries = await libraryEntries();
  const built = { entries: new Map(workerBuild.entries), imports: new Map(workerBuild.imports) };
  // Library modules are entries too, in the same build: a test that imports one gets the
  // very module instance the page runs (the same shared chunk), not a copy.
  const result = await esbuild.build({
    ...COMMON, entryPoints: [...pages, ...libraries].map((entry) => path.join(SOURCE, entry)),
    outdir: path.join(OUT, "static"), outbase: SOURCE, splitting: true,
    entryNames: "[dir]/[name]-[hash]", chunkNames: "js/chunks/[name]-[hash]", plugins: [staticFiles(workers)],
  });
  const { entries: found, imports } = await emit(result, files);
  found.forEach((url, entry) => built.entries.set(entry, url));
  imports.forEach((list, url) => built.imports.set(url, list));
  return { ...built, pages, worker: workers.get(WORKER) };
}

async function buildStyles(files, urls) {
  const result = await esbuild.build({
    ...COMMON, entryPoints: [path.join(SOURCE, "css", "app.css")], outdir: path.join(OUT, "static"),
    entryNames: "css/[name]-[hash]", loader: { ".css": "css" },
  });
  const { entries } = await emit(result, files);
  entries.forEach((url, entry) => urls.set(entry, url));
}

/** Copy a file under a hashed name: `icons/icon-192.png` → `icons/icon-192-<hash>.png`. */
function hashedName(name, bytes) {
  const extension = path.extname(name);
  return `${name.slice(0, -extension.length)}-${hashOf(bytes)}${extension}`;
}

async function copyHashed(files, urls, name) {
  const bytes = await readFile(path.join(SOURCE, name));
  const target = hashedName(name, bytes);
  files.set(target, bytes);
  urls.set(name, PUBLIC + target);
}

/** The web app manifest: the scanner, installable, in Spanish. */
async function webManifest(files, urls) {
  const catalog = JSON.parse(await readFile(CATALOG, "utf8"));
  const manifest = {
    id: "/asistencia/scan",
    name: catalog["app.name"],
    short_name: catalog["app.short_name"],
    description: catalog["app.tagline"],
    lang: "es-CL",
    start_url: "/asistencia/scan",
    scope: "/asistencia/",
    display: "standalone",
    orientation: "portrait",
    theme_color: THEME_COLOR,
    background_color: BACKGROUND_COLOR,
    icons: ICONS.map(({ file, sizes, purpose }) => ({ src: urls.get(file), sizes, type: "image/png", purpose })),
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const target = hashedName("manifest.json", bytes);
  files.set(target, bytes);
  urls.set("manifest.json", PUBLIC + target);
}

/** The service worker with its precache list and version (its bytes change with every build that changes a file). */
async function serviceWorker(scripts, urls) {
  const pages = [SCANNER_ENTRY, OFFLINE_ENTRY].map((entry) => scripts.entries.get(entry));
  const modules = new Set(pages.flatMap((page) => [page, ...closure(page, scripts.imports)]));
  // Not the icons: the browser fetches them when installing, and the offline page shows none.
  const precache = [OFFLINE_PAGE, urls.get("css/app.css"), ...modules, scripts.worker];
  const version = hashOf(precache.join("\n"));
  const result = await esbuild.build({
    ...COMMON, bundle: false, entryPoints: [path.join(SOURCE, "sw.js")], outfile: path.join(OUT, "sw.js"),
    format: "iife", define: { PRECACHE: JSON.stringify(precache), VERSION: JSON.stringify(version) },
  });
  return { bytes: result.outputFiles[0].contents, precache, version };
}

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

async function writeCompressed(file, bytes) {
  await writeFile(file, bytes);
  if (bytes.length < COMPRESS_FROM_BYTES || !COMPRESSIBLE.has(path.extname(file))) {
    return;
  }
  const [br, gz] = await Promise.all([
    brotli(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } }),
    gzip(bytes, { level: 9 }),
  ]);
  // A compressed copy no smaller than the file would only cost the client time.
  if (br.length < bytes.length) await writeFile(`${file}.br`, br);
  if (gz.length < bytes.length) await writeFile(`${file}.gz`, gz);
}

async function main() {
  const files = new Map();
  const urls = new Map();
  const scripts = await buildScripts(files);
  scripts.entries.forEach((url, entry) => urls.set(entry, url));
  await buildStyles(files, urls);
  for (const { file } of ICONS) {
    await copyHashed(files, urls, file);
  }
  await webManifest(files, urls);
  const worker = await serviceWorker(scripts, urls);

  // Write everything next to the old build, then swap: a server starting meanwhile sees one whole build.
  const staging = `${OUT}.new`;
  await rm(staging, { recursive: true, force: true });
  for (const [name, bytes] of files) {
    const file = path.join(staging, "static", name);
    await mkdir(path.dirname(file), { recursive: true });
    await writeCompressed(file, Buffer.from(bytes));
  }
  await writeCompressed(path.join(staging, "sw.js"), Buffer.from(worker.bytes));
  const preloads = Object.fromEntries(scripts.pages.map((entry) => {
    const url = scripts.entries.get(entry);
    return [entry, closure(url, scripts.imports)];
  }));
  const assets = {
    version: worker.version,
    urls: Object.fromEntries([...urls].sort()),
    preloads,
    prefetch: { [SCANNER_ENTRY]: [scripts.worker] },
    precache: worker.precache,
  };
  await writeFile(path.join(staging, "assets.json"), JSON.stringify(assets, null, 2) + "\n");
  await rm(OUT, { recursive: true, force: true });
  await rename(staging, OUT);
  const total = (await Promise.all([...files.keys()].map((name) => stat(path.join(OUT, "static", name)))))
    .reduce((sum, s) => sum + s.size, 0);
  console.error(`asistencia: built ${files.size} static files (${(total / 1024).toFixed(1)} KB) into ${path.relative(ROOT, OUT) || OUT}`);
}

await main();
