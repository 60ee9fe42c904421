// Runs axe-core (the accessibility engine behind Lighthouse and the
// browsers' audits) in Debian's Chromium, driven by puppeteer-core, on
// each URL given, with the WCAG 2.1 A/AA rules and axe's best practices.
// Prints each violation with the elements it names; exits 1 if any.
//
// usage: node axe.mjs URL...   (CHROMIUM: the browser, /usr/bin/chromium)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"];

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // No network but the page's own host: the machine has none.
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    `--user-data-dir=${mkdtempSync(join(tmpdir(), "crier-axe-"))}`,
  ],
});
let violations = 0;
try {
  for (const url of process.argv.slice(2)) {
    const page = await browser.newPage();
    const response = await page.goto(url, { waitUntil: "load" });
    if (!response || response.status() !== 200) {
      console.log(`${url}: HTTP ${response && response.status()}`);
      violations += 1;
      continue;
    }
    await page.evaluate(axeSource);
    const result = await page.evaluate(
      (tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags } }),
      TAGS,
    );
    for (const v of result.violations) {
      violations += 1;
      console.log(`${url}: ${v.id} (${v.impact}): ${v.help}`);
      for (const node of v.nodes.slice(0, 5)) {
        console.log(`    ${node.target.join(" ")}: ${node.html.slice(0, 160)}`);
      }
    }
    console.log(`${url}: ${result.passes.length} rules pass, ${result.violations.length} violated`);
    await page.close();
  }
} finally {
  await browser.close();
}
console.log(`${violations} violations`);
process.exit(violations ? 1 : 0);
