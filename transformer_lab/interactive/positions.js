// Position explorer: sinusoidal encodings against rotary embeddings. For a position p and a dimension
// pair i it shows the pair as a point on a circle (sinusoidal: PE_p's pair; rotary: the query q turned
// to position p), the pair's two values at every position, and the score of position p with every
// position n (PE_p . PE_n, or (R_p q) . (R_n k)).
// data: {title, max_len, dim, frequencies, periods, sinusoidal, sinusoidal_scores, rotary, rotary_scores}
function tlRenderPositions(root) {
  if (root.dataset.ready) return;
  var data = tlData(root), el = tlElement, words = tlWords(root, TL_POSITIONS_WORDS);
  var state = { encoding: "sinusoidal", position: 10, pair: 1 };

  el("div", { class: "tl-title" }, root, data.title);
  var controls = el("div", { class: "tl-controls" }, root);
  var modes = words.modes;
  var modeButtons = Object.keys(modes).map(function (mode) {
    var b = el("button", { type: "button", "data-encoding": mode }, controls, modes[mode]);
    b.addEventListener("click", function () { state.encoding = mode; draw(); });
    return b;
  });
  function slider(name, label, max, key) {
    var wrap = el("label", {}, controls);
    el("span", {}, wrap, label);
    var input = el("input", { type: "range", name: name, min: 0, max: max, step: 1, value: state[key] }, wrap);
    var out = el("output", {}, wrap);
    input.addEventListener("input", function () { state[key] = +input.value; draw(); });
    return function () { out.textContent = String(state[key]); };
  }
  var shows = [slider("position", words.position, data.max_len - 1, "position"),
    slider("pair", words.pair, data.dim / 2 - 1, "pair")];

  var svg = el("svg", { viewBox: "0 0 640 320", width: 640, height: 320 }, root);
  // The circle: pair i of the vector at position p.
  var cx = 95, cy = 170, r = 75;
  el("circle", { cx: cx, cy: cy, r: r, fill: "none", stroke: "currentColor", "stroke-opacity": 0.3 }, svg);
  el("line", { x1: cx - r - 6, x2: cx + r + 6, y1: cy, y2: cy, stroke: "currentColor", "stroke-opacity": 0.15 }, svg);
  el("line", { x1: cx, x2: cx, y1: cy - r - 6, y2: cy + r + 6, stroke: "currentColor", "stroke-opacity": 0.15 }, svg);
  var circleTitle = el("text", { x: cx, y: 40, "text-anchor": "middle" }, svg);
  var trail = el("g", {}, svg);
  var start = el("line", { x1: cx, y1: cy, stroke: "currentColor", "stroke-dasharray": "3 2", "stroke-opacity": 0.6 }, svg);
  var arrow = el("line", { x1: cx, y1: cy, stroke: "var(--tl-query)", "stroke-width": 2.5 }, svg);
  var dot = el("circle", { r: 5, fill: "var(--tl-query)" }, svg);

  // Two charts over positions 0..max_len-1: the pair's two values, and the scores of position p.
  function chart(y0, h, title) {
    var g = el("g", {}, svg);
    var heading = el("text", { x: 215, y: y0 - 8 }, g, title);
    el("line", { x1: 215, x2: 630, y1: y0 + h / 2, y2: y0 + h / 2, stroke: "currentColor", "stroke-opacity": 0.15 }, g);
    var curves = [el("polyline", { fill: "none", stroke: "var(--tl-query)", "stroke-width": 1.5 }, g),
      el("polyline", { fill: "none", stroke: "var(--tl-key)", "stroke-width": 1.5 }, g)];
    var marker = el("line", { y1: y0, y2: y0 + h, stroke: "currentColor", "stroke-opacity": 0.6 }, g);
    return { y0: y0, h: h, heading: heading, curves: curves, marker: marker };
  }
  var waves = chart(30, 110, ""), scores = chart(195, 110, "");
  function xpos(n) { return 215 + (415 * n) / (data.max_len - 1); }
  function points(values, c, limit) {
    return values.map(function (v, n) {
      return xpos(n).toFixed(1) + "," + (c.y0 + c.h / 2 - (v / limit) * (c.h / 2)).toFixed(1);
    }).join(" ");
  }
  var readout = el("div", { class: "tl-readout", "aria-live": "polite" }, root);
  el("div", { class: "tl-hint" }, root, words.hint);

  function draw() {
    var p = state.position, i = state.pair, rotary = state.encoding === "rotary";
    var vectors = rotary ? data.rotary : data.sinusoidal, rows = rotary ? data.rotary_scores : data.sinusoidal_scores;
    var even = vectors.map(function (v) { return v[2 * i]; }), odd = vectors.map(function (v) { return v[2 * i + 1]; });
    var radius = Math.max(Math.hypot(even[0], odd[0]), 1e-9);  // the pair's length, the same at every position
    function at(n) { return [cx + (r * even[n]) / radius, cy - (r * odd[n]) / radius]; }
    var here = at(p), origin = at(0);
    start.setAttribute("x2", origin[0]); start.setAttribute("y2", origin[1]);
    arrow.setAttribute("x2", here[0]); arrow.setAttribute("y2", here[1]);
    dot.setAttribute("cx", here[0]); dot.setAttribute("cy", here[1]);
    while (trail.firstChild) trail.removeChild(trail.firstChild);
    for (var n = 0; n < p; n++) {
      var spot = at(n);
      el("circle", { cx: spot[0], cy: spot[1], r: 2, fill: "currentColor", "fill-opacity": 0.35 }, trail);
    }
    circleTitle.textContent = words.pairTitle(i, 2 * i, 2 * i + 1);
    var limit = Math.max.apply(null, even.concat(odd).map(Math.abs)) || 1;
    waves.curves[0].setAttribute("points", points(even, waves, limit));
    waves.curves[1].setAttribute("points", points(odd, waves, limit));
    waves.heading.textContent = (rotary ? words.rotaryWaves : words.sinusoidalWaves)(2 * i, 2 * i + 1);
    var row = rows[p], scoreLimit = Math.max.apply(null, rows.map(function (r) {
      return Math.max.apply(null, r.map(Math.abs));
    }));
    scores.curves[0].setAttribute("points", points(row, scores, scoreLimit));
    scores.curves[1].setAttribute("points", "");
    scores.heading.textContent = rotary ? words.rotaryScores : words.sinusoidalScores;
    [waves, scores].forEach(function (c) { c.marker.setAttribute("x1", xpos(p)); c.marker.setAttribute("x2", xpos(p)); });
    modeButtons.forEach(function (b) { b.setAttribute("aria-pressed", b.dataset.encoding === state.encoding); });
    shows.forEach(function (show) { show(); });
    root.dataset.encoding = state.encoding;
    root.dataset.position = p;
    root.dataset.pair = i;
    var now = (rotary ? words.rotaryNow : words.sinusoidalNow)(p, i, even[p].toFixed(3), odd[p].toFixed(3));
    readout.textContent = now + words.turn(data.frequencies[i].toPrecision(3), data.periods[i],
      p + 1 < data.max_len ? row[p + 1].toFixed(3) : "\u2013");
  }
  draw();
  root.dataset.ready = "true";
}
// The figure's own words, in English and in Korean: tlWords (common.js) picks the page's.
var TL_POSITIONS_WORDS = {
  en: {
    modes: { sinusoidal: "sinusoidal (added to the token)", rotary: "rotary (turns q and k)" },
    position: "position p", pair: "pair i",
    hint: "Blue: dimension 2i; orange: dimension 2i + 1. Move p: the score curve slides with it and keeps its " +
      "shape, because a score depends on the offset between positions only.",
    pairTitle: function (i, a, b) { return "pair " + i + " (dims " + a + ", " + b + ")"; },
    rotaryWaves: function (a, b) { return "q turned to each position: its dims " + a + " and " + b; },
    sinusoidalWaves: function (a, b) { return "PE at each position: dims " + a + " (sin) and " + b + " (cos)"; },
    rotaryScores: "score of the query at p with the key at each position n",
    sinusoidalScores: "PE_p \u00b7 PE_n for each position n",
    rotaryNow: function (p, i, x, y) {
      return "q at p = " + p + ": pair " + i + " is (" + x + ", " + y + "), q's own pair turned by p\u00b7\u03c9";
    },
    sinusoidalNow: function (p, i, x, y) {
      return "PE_" + p + ": pair " + i + " is (sin, cos) = (" + x + ", " + y + ")";
    },
    turn: function (omega, period, next) {
      return "; this pair turns by \u03c9 = " + omega + " rad per position (a full turn every " + period +
        " positions). Score with n = p + 1: " + next + ".";
    },
  },
  ko: {
    modes: { sinusoidal: "사인파 (토큰에 더함)", rotary: "회전 (q와 k를 돌림)" },
    position: "위치 p", pair: "쌍 i",
    hint: "파랑: 차원 2i, 주황: 차원 2i + 1. p를 움직이면 점수 곡선이 모양을 유지한 채 함께 옮겨 갑니다. 점수는 " +
      "위치 사이의 간격에만 달려 있기 때문입니다.",
    pairTitle: function (i, a, b) { return "쌍 " + i + " (차원 " + a + ", " + b + ")"; },
    rotaryWaves: function (a, b) { return "각 위치로 돌린 q: 차원 " + a + "과 " + b; },
    sinusoidalWaves: function (a, b) { return "각 위치의 PE: 차원 " + a + " (sin)과 " + b + " (cos)"; },
    rotaryScores: "위치 p의 쿼리와 각 위치 n의 키의 점수",
    sinusoidalScores: "각 위치 n에 대한 PE_p \u00b7 PE_n",
    rotaryNow: function (p, i, x, y) {
      return "p = " + p + "의 q: 쌍 " + i + "은 (" + x + ", " + y + "), q 자신의 쌍을 p\u00b7\u03c9만큼 돌린 것";
    },
    sinusoidalNow: function (p, i, x, y) { return "PE_" + p + ": 쌍 " + i + "은 (sin, cos) = (" + x + ", " + y + ")"; },
    turn: function (omega, period, next) {
      return "; 이 쌍은 위치마다 \u03c9 = " + omega + " rad씩 돕니다 (" + period + " 위치마다 한 바퀴). " +
        "n = p + 1과의 점수: " + next + ".";
    },
  },
};
