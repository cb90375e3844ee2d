// Sampling explorer: one next-token distribution reshaped by temperature, top-k and top-p, in the order
// tl.sample_next_token applies them. Bars stay in the model's order (most likely first); the dashed
// outline is the model's own distribution (temperature 1, nothing cut), a cut token's bar is empty.
// data: {title, labels, logits, references: [{temperature, top_k, top_p, probs}] from the package}
function tlRenderSampling(root) {
  if (root.dataset.ready) return;
  var data = tlData(root), el = tlElement, words = tlWords(root, TL_SAMPLING_WORDS);
  var V = data.labels.length;

  function softmax(z, keep) {
    var max = -Infinity, total = 0;
    z.forEach(function (v, i) { if (keep[i]) max = Math.max(max, v); });
    var e = z.map(function (v, i) { return keep[i] ? Math.exp(v - max) : 0; });
    e.forEach(function (v) { total += v; });
    return e.map(function (v) { return v / total; });
  }
  // The package's distribution: logits / temperature, then top-k, then top-p, then softmax.
  function distribution(temperature, topK, topP) {
    var z = data.logits.map(function (v) { return v / temperature; });
    var keep = z.map(function () { return true; });
    if (topK !== null) {
      var kth = z.slice().sort(function (a, b) { return b - a; })[Math.min(topK, V) - 1];
      keep = z.map(function (v) { return v >= kth; });  // ties with the k-th largest are kept, as in torch
    }
    if (topP !== null) {
      var probs = softmax(z, keep), before = 0;  // before: the mass of the tokens ranked above this one
      var order = z.map(function (v, i) { return i; }).filter(function (i) { return keep[i]; })
        .sort(function (a, b) { return z[b] - z[a]; });
      order.forEach(function (i) {
        if (before >= topP) keep[i] = false;
        before += probs[i];
      });
    }
    return softmax(z, keep);
  }

  var model = distribution(1, null, null);
  var rank = model.map(function (p, i) { return i; }).sort(function (a, b) { return model[b] - model[a]; });
  var state = { temperature: 1, topK: V, topP: 1 };  // top-k = V and top-p = 1 cut nothing: shown as "off"

  el("div", { class: "tl-title" }, root, data.title);
  var controls = el("div", { class: "tl-controls" }, root);
  function slider(name, label, min, max, step, key, show) {
    var wrap = el("label", {}, controls);
    el("span", {}, wrap, label);
    var input = el("input", { type: "range", name: name, min: min, max: max, step: step, value: state[key] }, wrap);
    var out = el("output", {}, wrap);
    input.addEventListener("input", function () { state[key] = +input.value; draw(); });
    return function () { out.textContent = show(state[key]); };
  }
  var shows = [
    slider("temperature", words.temperature, 0.1, 3, 0.05, "temperature", function (t) { return t.toFixed(2); }),
    slider("top_k", "top-k", 1, V, 1, "topK", function (k) { return k === V ? words.off : String(k); }),
    slider("top_p", "top-p", 0.05, 1, 0.01, "topP", function (p) { return p === 1 ? words.off : p.toFixed(2); }),
  ];

  var width = 620, height = 210, base = 170, left = 34, slot = (width - left) / V, scale = base - 20;
  var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height }, root);
  for (var tick = 0; tick <= 1; tick += 0.5) {
    el("line", { x1: left - 4, x2: width, y1: base - tick * scale, y2: base - tick * scale, stroke: "currentColor",
      "stroke-opacity": 0.15 }, svg);
    el("text", { x: left - 8, y: base - tick * scale + 4, "text-anchor": "end", class: "tl-hint" }, svg, tick.toFixed(1));
  }
  var bars = rank.map(function (token, position) {
    var x = left + position * slot + slot * 0.15, w = slot * 0.7;
    var g = el("g", { "data-token": data.labels[token] }, svg);
    el("rect", { x: x, y: base - model[token] * scale, width: w, height: model[token] * scale, fill: "none",
      stroke: "currentColor", "stroke-opacity": 0.5, "stroke-dasharray": "3 2" }, g);
    var bar = el("rect", { x: x, width: w, fill: "var(--tl-query)" }, g);
    var value = el("text", { x: x + w / 2, "text-anchor": "middle", class: "tl-hint" }, g);
    var label = el("text", { x: x + w / 2, y: base + 16, "text-anchor": "middle" }, g, data.labels[token]);
    return { token: token, group: g, bar: bar, value: value, label: label };
  });
  var readout = el("div", { class: "tl-readout", "aria-live": "polite" }, root);
  el("div", { class: "tl-hint" }, root, words.hint);

  function draw() {
    var topK = state.topK === V ? null : state.topK, topP = state.topP === 1 ? null : state.topP;
    var probs = distribution(state.temperature, topK, topP), kept = 0, entropy = 0, best = 0;
    bars.forEach(function (b) {
      var p = probs[b.token];
      b.bar.setAttribute("y", base - p * scale);
      b.bar.setAttribute("height", p * scale);
      b.value.setAttribute("y", base - Math.max(p, model[b.token]) * scale - 4);
      b.value.textContent = p >= 0.005 ? p.toFixed(2).replace(/^0/, "") : "";
      b.label.setAttribute("opacity", p > 0 ? 1 : 0.4);
      b.group.dataset.prob = p;
      if (p > 0) { kept += 1; entropy -= p * Math.log(p); }
      if (p > probs[best]) best = b.token;
    });
    shows.forEach(function (show) { show(); });
    root.dataset.kept = kept;
    var own = model.reduce(function (h, p) { return p > 0 ? h - p * Math.log(p) : h; }, 0);
    readout.textContent = words.readout(kept, V, data.labels[best], probs[best].toFixed(3), entropy.toFixed(2),
      own.toFixed(2));
  }
  draw();
  root.dataset.ready = "true";
}
// The figure's own words, in English and in Korean: tlWords (common.js) picks the page's.
var TL_SAMPLING_WORDS = {
  en: {
    temperature: "temperature \u03c4", off: "off",
    hint: "Dashed: the model's own distribution (\u03c4 = 1, nothing cut). Filled: the distribution sampling " +
      "draws from with these settings; an empty slot is a token cut.",
    readout: function (kept, V, best, p, entropy, own) {
      return kept + " of " + V + " tokens kept; the most likely, " + best + ", has " + p + "; entropy " + entropy +
        " nats (the model's own: " + own + ").";
    },
  },
  ko: {
    temperature: "온도 \u03c4", off: "끔",
    hint: "점선: 모델 자신의 분포 (\u03c4 = 1, 자르지 않음). 채운 막대: 이 설정에서 샘플링이 뽑는 분포이며, 빈 자리는 " +
      "잘린 토큰입니다.",
    readout: function (kept, V, best, p, entropy, own) {
      return "토큰 " + V + "개 중 " + kept + "개 남음; 가장 가능성이 높은 " + best + "의 확률은 " + p + "; 엔트로피 " +
        entropy + " nats (모델 자신의 분포: " + own + ").";
    },
  },
};
