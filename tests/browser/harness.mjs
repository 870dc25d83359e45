// What the browser tests share: a real `lithos serve` on SQLite (with the Creem stand-in for
// billing) started before a file's tests and stopped after them, headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core from console/node_modules), and checks of pages
// and meshes. Each test file imports it and gets its own server and data directory.

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(root, "console/package.json"));
const { chromium } = require("playwright-core");

export const binary = process.env.LITHOS_BIN ?? join(root, "target/debug/lithos");
export const shots = join(root, "test-output/browser");
export const horse = readFileSync(join(root, "tests/data/horse.png"));
export const ADMIN = { email: "admin@lithos.test", password: "operator passphrase 1" };
export const USER = { name: "Ada", email: "ada@lithos.test", password: "a long passphrase 2" };
// The flags Chromium needs on these machines (no GPU, no network).
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--no-first-run", "--enable-unsafe-swiftshader"];

export let server, base, browser, dataDir, creem, creemBase, oidc, oidcIssuer, generator, generatorBase;
// The OpenID Provider's person (tests/oidc/provider.mjs), and the client Lithos is to it.
export const OIDC_USER = { login: "grace", password: "grace-password", email: "grace@oidc.test" };
const OIDC_CLIENT = { id: "lithos-browser", secret: "a-client-secret-of-the-browser-tests" };
export const CREEM = { key: "creem_test_browser", secret: "whsec_browser" };
export const GENERATION = { key: "msy_test_browser", credits: 5 };

async function freePort() {
  return new Promise((ok) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

before(async () => {

  mkdirSync(shots, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), "lithos-browser-"));
  execFileSync(binary, ["admin", "--data-dir", dataDir, "create-user", "--email", ADMIN.email, "--name", "Operator",
    "--admin", "--password-stdin"], { input: `${ADMIN.password}\n` });
  // The Creem stand-in (tests/creem/standin.py), for the buy flow.
  creem = spawn("python3", [join(root, "tests/creem/standin.py"), "--api-key", CREEM.key,
    "--webhook-secret", CREEM.secret, "--product", "prod_pack100:onetime:900",
    "--product", "prod_pro:recurring:1900"], { stdio: ["ignore", "pipe", "inherit"] });
  creemBase = await new Promise((ok, fail) => {
    creem.stdout.once("data", (d) => ok(`http://127.0.0.1:${/listening on (\d+)/.exec(String(d))[1]}`));
    creem.once("exit", () => fail(new Error("the Creem stand-in stopped")));
  });
  // The AI generation provider's stand-in (tests/generation/standin.py), for prompts.
  generator = spawn("python3", [join(root, "tests/generation/standin.py"), "--api-key", GENERATION.key],
    { stdio: ["ignore", "pipe", "inherit"] });
  generatorBase = await new Promise((ok, fail) => {
    generator.stdout.once("data", (d) => ok(`http://127.0.0.1:${/listening on (\d+)/.exec(String(d))[1]}`));
    generator.once("exit", () => fail(new Error("the generation stand-in stopped")));
  });
  writeFileSync(join(dataDir, "lithos.toml"), `[generation]
provider = "meshy"
api_base = "${generatorBase}"
credits = ${GENERATION.credits}
poll_seconds = 0.2
[billing]
creem_api_base = "${creemBase}"
[[billing.packs]]
id = "pack-100"
creem_product_id = "prod_pack100"
credits = 100
price = 900
currency = "EUR"
[[billing.plans]]
id = "pro"
creem_product_id = "prod_pro"
credits_per_period = 500
price = 1900
currency = "EUR"
`);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  // A real OpenID Provider, configured through the environment as the generic provider.
  writeFileSync(join(dataDir, "oidc.json"), JSON.stringify({
    clients: [{ client_id: OIDC_CLIENT.id, client_secret: OIDC_CLIENT.secret, redirect_uris: [`${base}/auth/oidc/callback`] }],
    users: [{ ...OIDC_USER, sub: "grace-sub", email_verified: true, name: "Grace Hopper", picture: null, github_id: 2001 }],
  }));
  oidc = spawn("node", [join(root, "tests/oidc/provider.mjs"), join(dataDir, "oidc.json")], { stdio: ["ignore", "pipe", "ignore"] });
  oidcIssuer = await new Promise((ok, fail) => {
    oidc.stdout.on("data", (d) => { const m = /READY (\S+)/.exec(String(d)); if (m) ok(m[1]); });
    oidc.once("exit", () => fail(new Error("the OpenID Provider stopped (npm ci --prefix tests/oidc?)")));
  });
  server = spawn(binary, ["serve", "--config", join(dataDir, "lithos.toml"), "--data-dir", dataDir, "--bind", `127.0.0.1:${port}`, "--workers", "2"], {
    env: { ...process.env, LITHOS_BACKEND: "cpu", RUST_LOG: "warn", LITHOS_CREEM_API_KEY: CREEM.key,
      LITHOS_GENERATION_API_KEY: GENERATION.key,
      LITHOS_CREEM_WEBHOOK_SECRET: CREEM.secret, LITHOS_OIDC_ISSUER: oidcIssuer,
      LITHOS_OIDC_CLIENT_ID: OIDC_CLIENT.id, LITHOS_OIDC_CLIENT_SECRET: OIDC_CLIENT.secret,
      LITHOS_OIDC_NAME: "Lab SSO" }, stdio: ["ignore", "inherit", "inherit"],
  });
  for (let i = 0; ; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not yet */ }
    if (i > 300) throw new Error("lithos serve did not become ready");
    await new Promise((r) => setTimeout(r, 100));
  }
  await fetch(`${creemBase}/control/webhook`, { method: "POST", body: JSON.stringify({ url: `${base}/api/v1/billing/creem/webhook` }) });
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: FLAGS });
});

after(async () => {
  await browser?.close();
  creem?.kill("SIGTERM");
  oidc?.kill("SIGTERM");
  generator?.kill("SIGTERM");
  server?.kill("SIGTERM");
  await new Promise((r) => (server ? server.on("exit", r) : r()));
  rmSync(dataDir, { recursive: true, force: true });
});

/// A page in a fresh context; on failure, a screenshot named in the error.
export async function withPage(name, body, options = {}) {
  const context = await browser.newContext({ baseURL: base, acceptDownloads: true, viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // The pages run under the server's Content-Security-Policy: anything it refuses is a bug.
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  try {
    await body(page);
    assert.deepEqual(problems, [], "no script errors on the page");
  } catch (err) {
    const path = join(shots, `FAILED-${name}.png`);
    await page.screenshot({ path, fullPage: true }).catch(() => {});
    err.message = `${err.message}\n  screenshot: ${path}`;
    throw err;
  } finally {
    await context.close();
  }
}

export const shot = (page, name) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });

/// Every form control has a label; nothing is wider than the viewport.
export async function accessible(page) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll("input, select, textarea")]
      .filter((e) => e.type !== "hidden" && e.offsetParent !== null)
      .filter((e) => !(e.labels?.length) && !e.getAttribute("aria-label"))
      .map((e) => e.id || e.name));
  assert.deepEqual(unlabelled, [], "every visible control has a label");
}

export async function fitsWidth(page, width) {
  await page.setViewportSize({ width, height: 800 });
  const scroll = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scroll <= width, `no horizontal scrolling at ${width} px (content is ${scroll} px wide)`);
}

/// Drops `bytes` on the drop zone as a real DataTransfer of one file.
export async function dropFile(page, selector, name, bytes, type) {
  const handle = await page.evaluateHandle(({ name, data, type }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, { type }));
    return dt;
  }, { name, data: bytes.toString("base64"), type });
  for (const event of ["dragenter", "dragover", "drop"]) await page.dispatchEvent(selector, event, { dataTransfer: handle });
}

/// A binary STL is closed and manifold: vertices welded by position, every directed edge
/// appears once and its reverse once, and no triangle is degenerate.
export function assertClosedManifold(stl) {
  assert.ok(stl.length >= 84, "an STL header");
  const count = stl.readUInt32LE(80);
  assert.equal(stl.length, 84 + 50 * count, "a whole binary STL");
  assert.ok(count > 100, `a real mesh (${count} triangles)`);
  const ids = new Map();
  const id = (o) => {
    const key = `${stl.readFloatLE(o)},${stl.readFloatLE(o + 4)},${stl.readFloatLE(o + 8)}`;
    if (!ids.has(key)) ids.set(key, ids.size);
    return ids.get(key);
  };
  const edges = new Map();
  for (let t = 0; t < count; t++) {
    const o = 84 + 50 * t + 12;
    const v = [id(o), id(o + 12), id(o + 24)];
    assert.ok(v[0] !== v[1] && v[1] !== v[2] && v[0] !== v[2], `triangle ${t} is not degenerate`);
    for (let i = 0; i < 3; i++) {
      const key = `${v[i]}>${v[(i + 1) % 3]}`;
      edges.set(key, (edges.get(key) ?? 0) + 1);
    }
  }
  for (const [key, n] of edges) {
    assert.equal(n, 1, `directed edge ${key} is used once`);
    const [a, b] = key.split(">");
    assert.ok(edges.has(`${b}>${a}`), `edge ${key} has its twin: the surface is closed`);
  }
  return count;
}

/// The share of the canvas `selector`'s pixels that differ from the viewer's empty background.
export async function litFraction(page, selector) {
  return page.locator(selector).evaluate((canvas) => {
    const copy = document.createElement("canvas");
    copy.width = canvas.width; copy.height = canvas.height;
    const ctx = copy.getContext("2d");
    ctx.drawImage(canvas, 0, 0);
    const { data } = ctx.getImageData(0, 0, copy.width, copy.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - 0x20) + Math.abs(data[i + 1] - 0x25) + Math.abs(data[i + 2] - 0x2b) > 30) n++;
    }
    return n / (data.length / 4);
  });
}

/// The preview drew a mesh: many pixels differ from the empty background.
export async function assertPreviewLit(page) {
  const lit = await litFraction(page, "#preview");
  assert.ok(lit > 0.02, `the preview shows the mesh (${(lit * 100).toFixed(1)}% of pixels lit)`);
}

/// Signs a context in through the API (as the login form does) and returns the page.
export async function signedIn(page, { email, password }) {
  await page.goto("/#login");
  const status = await page.evaluate((body) => fetch("/api/v1/auth/login", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.status),
  { email, password });
  assert.equal(status, 200, "signed in");
  // The app reads the session as it loads, and shows the converter.
  await page.reload();
  await page.locator("#view-convert:not(.hidden)").waitFor();
}

/// Signs `name` up with `email` and `password` through the API in `page`, as the sign-up form
/// does, and opens the converter signed in.
export async function signedUp(page, { name, email, password }) {
  await page.goto("/#login");
  const status = await page.evaluate((body) => fetch("/api/v1/auth/register", { method: "POST",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }).then((r) => r.status),
  { name, email, password, birth_date: "1990-05-17" });
  assert.equal(status, 201, "signed up");
  await page.goto("/#convert");
  await page.reload(); // the page loads again, now signed in
  await page.locator("#view-convert:not(.hidden)").waitFor();
}
