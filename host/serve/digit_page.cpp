// The drawing page of `cudamlp serve`; see digit_page.h. Element ids are what tests/serve/browser_test.mjs
// drives: #pad (the canvas), #clear, #file, #predicted, #bars, #seen (the 28x28 input), #model, #error;
// body[data-answered] counts the answers shown.
#include "digit_page.h"

namespace cudamlp::serve {

namespace {

// NONCE is replaced by the response's nonce.
constexpr const char* kPage = R"page(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cudamlp: draw a digit</title>
<style nonce="NONCE">
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; padding: 20px; color: #1d2430; background: #f3f5f8; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #model { color: #556; margin: 0 0 16px; min-height: 1.4em; }
  main { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
  section { background: #fff; border-radius: 8px; padding: 16px; box-shadow: 0 1px 3px #0002; }
  #pad { width: 336px; height: 336px; border: 1px solid #99a; border-radius: 4px; touch-action: none;
         cursor: crosshair; display: block; background: #fff; }
  .controls { display: flex; gap: 12px; align-items: center; margin-top: 12px; }
  button { font: inherit; padding: 6px 16px; border-radius: 4px; border: 1px solid #99a; background: #eef; cursor: pointer; }
  #predicted { font-size: 64px; font-weight: 700; line-height: 1; min-height: 64px; text-align: center; }
  #bars { display: grid; grid-template-columns: 1.2em 220px 4.5em; gap: 4px 8px; align-items: center;
          margin-top: 12px; font-variant-numeric: tabular-nums; }
  .track { background: #e4e8ee; height: 14px; border-radius: 3px; overflow: hidden; }
  .fill { background: #4a7bd0; height: 100%; width: 0; }
  .best .fill { background: #d0604a; }
  .pct { text-align: right; }
  #seen { width: 168px; height: 168px; image-rendering: pixelated; border: 1px solid #99a; display: block; margin-top: 8px; }
  #error { color: #b02020; min-height: 1.4em; margin-top: 8px; max-width: 336px; }
  .note { color: #556; font-size: 13px; max-width: 190px; }
</style>
</head>
<body data-answered="0">
<h1>Draw a digit</h1>
<p id="model">loading the model&hellip;</p>
<main>
  <section>
    <canvas id="pad" width="336" height="336" aria-label="drawing pad"></canvas>
    <div class="controls">
      <button id="clear" type="button">Clear</button>
      <label>or a picture: <input id="file" type="file" accept="image/png,.png,.pgm,image/x-portable-graymap"></label>
    </div>
    <div id="error" role="alert"></div>
  </section>
  <section>
    <div>predicted</div>
    <div id="predicted" aria-live="polite"></div>
    <div id="bars"></div>
  </section>
  <section>
    <div>what the network saw (28x28)</div>
    <canvas id="seen" width="28" height="28"></canvas>
    <p class="note" id="seen-note">The drawing cropped, scaled to 20 pixels and centred by its centre of mass, as MNIST's digits were.</p>
  </section>
</main>
<script nonce="NONCE">
"use strict";
const pad = document.getElementById("pad");
const ink = pad.getContext("2d");
const seen = document.getElementById("seen").getContext("2d");
const errorLine = document.getElementById("error");
const predictedDigit = document.getElementById("predicted");
const bars = document.getElementById("bars");
let requested = 0;   // requests sent; only the answer to the latest is shown
let answered = 0;    // answers shown
let drawn = false;   // ink on the pad since the last clear

const fills = [], percents = [], rows = [];
for (let digit = 0; digit < 10; ++digit) {
  const label = document.createElement("span"); label.textContent = digit;
  const track = document.createElement("div"); track.className = "track";
  const fill = document.createElement("div"); fill.className = "fill"; track.appendChild(fill);
  const pct = document.createElement("span"); pct.className = "pct";
  const row = [label, track, pct];
  row.forEach(element => bars.appendChild(element));
  fills.push(fill); percents.push(pct); rows.push(row);
}

function clearPad() {
  ink.fillStyle = "#fff";
  ink.fillRect(0, 0, pad.width, pad.height);
  drawn = false;
}

function showAnswer(answer) {
  const probabilities = answer.probabilities;
  predictedDigit.textContent = answer.predicted;
  probabilities.forEach((p, digit) => {
    fills[digit].style.width = (100 * p).toFixed(1) + "%";
    percents[digit].textContent = (100 * p).toFixed(1) + "%";
    rows[digit].forEach(element => element.classList.toggle("best", digit === answer.predicted));
  });
  const picture = seen.createImageData(28, 28);
  answer.input.forEach((value, i) => {
    const shade = 255 - Math.round(value);  // ink dark on light, as drawn
    picture.data.set([shade, shade, shade, 255], 4 * i);
  });
  seen.putImageData(picture, 0, 0);
  document.getElementById("seen-note").textContent = answer.inverted === false
      ? "Light ink on dark: used as it is, cropped, scaled to 20 pixels and centred."
      : "Dark ink on light: inverted, cropped, scaled to 20 pixels and centred by its centre of mass.";
}

async function predict(body, type) {
  const id = ++requested;
  document.body.dataset.requested = id;
  try {
    const response = await fetch("/predict", {method: "POST", headers: {"Content-Type": type}, body});
    const answer = await response.json();
    if (id !== requested) return;  // a newer stroke's answer is on its way
    if (!response.ok) throw new Error(answer.error || response.statusText);
    errorLine.textContent = "";
    showAnswer(answer);
  } catch (error) {
    if (id !== requested) return;
    errorLine.textContent = String(error.message || error);
  }
  document.body.dataset.answered = ++answered;
  document.body.dataset.shown = id;
}

function predictDrawing() {
  if (drawn) pad.toBlob(blob => predict(blob, "image/png"), "image/png");
}

// Pointer events: a mouse, a finger or a pen alike. Each stroke is one pointer down .. up.
let last = null;
function position(event) {
  const box = pad.getBoundingClientRect();
  return {x: (event.clientX - box.left) * pad.width / box.width, y: (event.clientY - box.top) * pad.height / box.height};
}
// A pen's pressure (0..1; a mouse reports 0.5 while pressed) widens or narrows the line.
function penWidth(pressure) { return 26 * (pressure > 0 && pressure !== 0.5 ? 0.5 + pressure : 1); }
function lineTo(point, pressure) {
  ink.strokeStyle = "#000";
  ink.lineCap = ink.lineJoin = "round";
  ink.lineWidth = penWidth(pressure);
  ink.beginPath();
  ink.moveTo(last.x, last.y);
  ink.lineTo(point.x, point.y);
  ink.stroke();
  last = point;
  drawn = true;
}
// A tap leaves a dot (the canvas draws no zero-length line).
function dot(point, pressure) {
  ink.fillStyle = "#000";
  ink.beginPath();
  ink.arc(point.x, point.y, penWidth(pressure) / 2, 0, 2 * Math.PI);
  ink.fill();
  drawn = true;
}
pad.addEventListener("pointerdown", event => {
  if (event.button !== 0) return;
  pad.setPointerCapture(event.pointerId);
  last = position(event);
  dot(last, event.pressure);
  event.preventDefault();
});
pad.addEventListener("pointermove", event => {
  if (!last) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  (events.length ? events : [event]).forEach(e => lineTo(position(e), e.pressure));
});
function endStroke() {
  if (!last) return;
  last = null;
  predictDrawing();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", () => {
  clearPad();
  document.body.dataset.requested = ++requested;  // an answer still on its way is for the old drawing
  predictedDigit.textContent = "";
  errorLine.textContent = "";
  fills.forEach(fill => fill.style.width = "0");
  percents.forEach(pct => pct.textContent = "");
  rows.forEach(row => row.forEach(element => element.classList.remove("best")));
  seen.clearRect(0, 0, 28, 28);
});

document.getElementById("file").addEventListener("change", async event => {
  const file = event.target.files[0];
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  // Told by the first bytes, as the server does: browsers give .pgm files no type.
  const type = bytes[0] === 0x50 && (bytes[1] === 0x35 || bytes[1] === 0x32) ? "image/x-portable-graymap" : "image/png";
  predict(bytes, type);
  event.target.value = "";
});

fetch("/model").then(response => response.json()).then(model => {
  let text = model.name + ": " + model.sizes.join("-") + " (" + model.parameters.toLocaleString("en") + " parameters, " +
             model.device + ")";
  if (model.test_accuracy !== undefined) text += ", test accuracy " + (100 * model.test_accuracy).toFixed(2) + "%";
  document.getElementById("model").textContent = text;
}).catch(error => { document.getElementById("model").textContent = "model: " + error.message; });

clearPad();
</script>
</body>
</html>
)page";

}  // namespace

std::string digit_page_html(const std::string& nonce) {
  std::string page = kPage;
  const std::string placeholder = "NONCE";
  for (size_t at = page.find(placeholder); at != std::string::npos; at = page.find(placeholder, at + nonce.size()))
    page.replace(at, placeholder.size(), nonce);
  return page;
}

std::string digit_page_policy(const std::string& nonce) {
  return "default-src 'none'; script-src 'nonce-" + nonce + "'; style-src 'nonce-" + nonce +
         "'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

}  // namespace cudamlp::serve
