// Loads /console 30 times as a signed-in administrator in headless Chromium and prints the
// median and p95 of first contentful paint and of the overview's counts being filled in.
// Usage: node console_render.mjs BASE EMAIL PASSWORD
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(join(root, "console/package.json"))("playwright-core");
const [base, email, password] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run"],
});
const context = await browser.newContext({ baseURL: base });
const login = await context.request.post("/api/v1/auth/login", { data: { email, password }, headers: { Origin: base } });
if (!login.ok()) throw new Error(`login failed: ${login.status()}`);
const fcp = [], counts = [];
for (let i = 0; i < 31; i++) {
  const page = await context.newPage();
  await page.goto("/console");
  await page.locator("#count-processed", { hasText: /^\d/ }).waitFor();
  const t = await page.evaluate(() => ({
    fcp: performance.getEntriesByName("first-contentful-paint")[0]?.startTime,
    counts: performance.now(),
  }));
  if (i > 0) { fcp.push(t.fcp); counts.push(t.counts); } // the first load warms the caches
  await page.close();
}
await browser.close();
const stat = (v) => {
  v.sort((a, b) => a - b);
  return `median ${v[Math.floor(v.length / 2)].toFixed(0)} ms, p95 ${v[Math.ceil(v.length * 0.95) - 1].toFixed(0)} ms`;
};
console.log(`first contentful paint of /console: ${stat(fcp)}`);
console.log(`overview counts filled in (upper bound, includes the wait loop): ${stat(counts)}`);
