// Drives `cudamlp serve`'s page in the system's headless Chromium with playwright-core: draws each digit
// of a JSON file as pen strokes with real pointer events (mouse down, moves, up: one stroke per run of
// ink in a row of the 28x28 digit, scaled to the pad), reads what the page shows after the last
// stroke's answer, clears between digits, then uploads a picture through the file picker. Prints what
// it saw as one JSON object; the C++ test (tests/serve/test_serve_browser.cpp) judges it.
//
// Usage: node browser_test.mjs CHROMIUM URL DIGITS.json PICTURE SCREENSHOT.png
//   DIGITS.json: [{"pixels": [784 values 0..255]}, ...]
import { chromium } from "playwright-core";

const [executablePath, url, digitsFile, picture, screenshot] = process.argv.slice(2);
const digits = JSON.parse(await (await import("node:fs/promises")).readFile(digitsFile, "utf8"));
const problems = [];  // console errors, CSP violations, page errors

const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 520 } });
  page.on("console", message => { if (message.type() === "error") problems.push(message.text()); });
  page.on("pageerror", error => problems.push(String(error)));
  page.on("response", async response => {
    if (!response.ok()) problems.push(response.status() + " " + response.url() + ": " + await response.text());
  });
  await page.goto(url);
  await page.waitForFunction(() => !document.getElementById("model").textContent.startsWith("loading"));

  const dataset = () => page.evaluate(() => ({ ...document.body.dataset }));
  // What the page shows once the answer to request `id` is on it.
  async function shown(id) {
    await page.waitForFunction(n => Number(document.body.dataset.shown) === n, id, { timeout: 30000 });
    return page.evaluate(() => {
      const seen = document.getElementById("seen").getContext("2d").getImageData(0, 0, 28, 28).data;
      let ink = 0;
      for (let i = 0; i < seen.length; i += 4) ink += 255 - seen[i];
      return {
        predicted: document.getElementById("predicted").textContent,
        percents: [...document.querySelectorAll("#bars .pct")].map(element => parseFloat(element.textContent)),
        best: [...document.querySelectorAll("#bars .track")].findIndex(element => element.classList.contains("best")),
        seen_ink: ink,
        error: document.getElementById("error").textContent,
      };
    });
  }

  const box = await page.locator("#pad").boundingBox();
  const cell = box.width / 28;
  const results = [];
  for (const digit of digits) {
    await page.click("#clear");
    const before = Number((await dataset()).requested || 0);
    let strokes = 0;
    for (let row = 0; row < 28; ++row) {
      for (let column = 0; column < 28; ++column) {
        if (digit.pixels[row * 28 + column] < 128) continue;
        let end = column;
        while (end + 1 < 28 && digit.pixels[row * 28 + end + 1] >= 128) ++end;
        const y = box.y + (row + 0.5) * cell;
        await page.mouse.move(box.x + (column + 0.5) * cell, y);
        await page.mouse.down();
        await page.mouse.move(box.x + (end + 0.5) * cell, y, { steps: Math.max(2, end - column) });
        await page.mouse.up();
        ++strokes;
        column = end;
      }
    }
    results.push({ strokes, ...(await shown(before + strokes)) });
  }
  if (screenshot) await page.screenshot({ path: screenshot });

  await page.click("#clear");
  const before = Number((await dataset()).requested || 0);
  await page.setInputFiles("#file", picture);
  const uploaded = await shown(before + 1);
  const model = await page.locator("#model").textContent();
  console.log(JSON.stringify({ model, digits: results, picture: uploaded, problems }));
} finally {
  await browser.close();
}
