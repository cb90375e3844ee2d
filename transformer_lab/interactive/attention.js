// Attention explorer: queries on the left, keys on the right, one line per (query, key) pair whose
// opacity is the attention weight. Hover or click a token to see only its lines and the weights.
// data: {title, layers, heads, query_labels, key_labels, query_axis, key_axis,
//        weights: [layer][head][query][key], the mean of the heads stored as head index `heads`}
function tlRenderAttention(root) {
  if (root.dataset.ready) return;
  var data = tlData(root), el = tlElement, words = tlWords(root, TL_ATTENTION_WORDS);
  var nq = data.query_labels.length, nk = data.key_labels.length;
  var state = { layer: 0, head: data.heads, focus: null, pinned: false };  // the mean of the heads first

  el("div", { class: "tl-title" }, root, data.title);
  var controls = el("div", { class: "tl-controls" }, root);
  function buttonRow(label, count, names, key) {
    var group = el("span", { role: "group", "aria-label": label }, controls);
    var buttons = [];
    for (var i = 0; i < count; i++) {
      var b = el("button", { type: "button", "data-index": i, "data-control": key }, group, names(i));
      b.addEventListener("click", function (event) {
        state[key] = +event.currentTarget.dataset.index;
        draw();
      });
      buttons.push(b);
    }
    return buttons;
  }
  function layerName(i) { return words.layer + " " + (i + 1); }
  function headName(i) { return i === data.heads ? words.mean : words.head + " " + (i + 1); }
  var layerButtons = buttonRow(words.layer, data.layers, layerName, "layer");
  var headButtons = buttonRow(words.head, data.heads + 1, headName, "head");

  var row = 22, top = 28, width = 520, qx = 150, kx = 370;
  var height = top + row * Math.max(nq, nk) + 6;
  var svg = el("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height }, root);
  el("text", { x: qx, y: 14, "text-anchor": "end", "font-weight": "600" }, svg, data.query_axis);
  el("text", { x: kx, y: 14, "font-weight": "600" }, svg, data.key_axis);
  var lineLayer = el("g", {}, svg);
  function ypos(i) { return top + row * i + row / 2; }
  function token(side, i, label) {
    var x = side === "q" ? qx : kx;
    var g = el("g", { class: "tl-token", "data-side": side, "data-index": i, tabindex: 0 }, svg);
    var box = el("rect", { x: side === "q" ? x - 110 : x, y: ypos(i) - row / 2 + 2, width: 110, height: row - 4,
      rx: 3, fill: side === "q" ? "var(--tl-query)" : "var(--tl-key)", "fill-opacity": 0 }, g);
    el("text", { x: side === "q" ? x - 6 : x + 6, y: ypos(i) + 4, "text-anchor": side === "q" ? "end" : "start" },
      g, label);
    var value = el("text", { x: side === "q" ? x - 104 : x + 104, y: ypos(i) + 4,
      "text-anchor": side === "q" ? "start" : "end", class: "tl-hint" }, g, "");
    function enter() { if (!state.pinned) { state.focus = side + i; draw(); } }
    g.addEventListener("mouseenter", enter);
    g.addEventListener("focus", enter);
    g.addEventListener("mouseleave", function () { if (!state.pinned) { state.focus = null; draw(); } });
    g.addEventListener("click", function () {
      state.pinned = !(state.pinned && state.focus === side + i);
      state.focus = state.pinned ? side + i : null;
      draw();
    });
    return { group: g, box: box, value: value };
  }
  var queries = data.query_labels.map(function (label, i) { return token("q", i, label); });
  var keys = data.key_labels.map(function (label, i) { return token("k", i, label); });
  var lines = [];
  for (var i = 0; i < nq; i++) {
    lines.push([]);
    for (var j = 0; j < nk; j++) {
      lines[i].push(el("line", { x1: qx + 2, y1: ypos(i), x2: kx - 2, y2: ypos(j), stroke: "currentColor" },
        lineLayer));
    }
  }
  var readout = el("div", { class: "tl-readout", "aria-live": "polite" }, root);
  el("div", { class: "tl-hint" }, root, words.hint);

  function fmt(w) { return w.toFixed(2); }
  function quote(label) { return "\u2018" + label + "\u2019"; }
  function draw() {
    var w = data.weights[state.layer][state.head];  // (T_q, T_k)
    var side = state.focus ? state.focus[0] : null, index = state.focus ? +state.focus.slice(1) : -1;
    root.dataset.layer = state.layer;
    root.dataset.head = state.head;
    root.dataset.focus = state.focus || "";
    layerButtons.forEach(function (b, n) { b.setAttribute("aria-pressed", n === state.layer); });
    headButtons.forEach(function (b, n) { b.setAttribute("aria-pressed", n === state.head); });
    for (var i = 0; i < nq; i++) {
      for (var j = 0; j < nk; j++) {
        var shown = side === null || (side === "q" && i === index) || (side === "k" && j === index);
        var opacity = shown ? (side === null ? 0.6 * w[i][j] : Math.max(w[i][j], 0.04)) : 0;
        lines[i][j].setAttribute("stroke-opacity", opacity.toFixed(3));
        lines[i][j].setAttribute("stroke-width", side === null ? 1 : 1 + 4 * w[i][j]);
      }
    }
    queries.forEach(function (t, i) {
      var weight = side === "k" ? w[i][index] : null;
      t.box.setAttribute("fill-opacity", side === "q" && i === index ? 0.35 : weight === null ? 0 : 0.7 * weight);
      t.value.textContent = weight === null ? "" : fmt(weight);
      if (weight === null) delete t.group.dataset.weight; else t.group.dataset.weight = weight;
    });
    keys.forEach(function (t, j) {
      var weight = side === "q" ? w[index][j] : null;
      t.box.setAttribute("fill-opacity", side === "k" && j === index ? 0.35 : weight === null ? 0 : 0.7 * weight);
      t.value.textContent = weight === null ? "" : fmt(weight);
      if (weight === null) delete t.group.dataset.weight; else t.group.dataset.weight = weight;
    });
    var where = layerName(state.layer) + ", " + headName(state.head) + ": ";
    if (side === "q") {
      var order = w[index].map(function (v, j) { return j; }).sort(function (a, b) { return w[index][b] - w[index][a]; });
      readout.textContent = where + words.readsMost(quote(data.query_labels[index]),
        order.slice(0, 3).map(function (j) { return quote(data.key_labels[j]) + " " + fmt(w[index][j]); }).join(", "));
    } else if (side === "k") {
      var total = 0;
      for (var r = 0; r < nq; r++) total += w[r][index];
      readout.textContent = where + words.readBy(quote(data.key_labels[index]), fmt(total), nq);
    } else {
      readout.textContent = where + words.everyLine;
    }
  }
  draw();
  root.dataset.ready = "true";
}
// The figure's own words, in English and in Korean: tlWords (common.js) picks the page's.
var TL_ATTENTION_WORDS = {
  en: {
    layer: "layer", head: "head", mean: "mean of heads",
    hint: "Hover over a token, or click it to keep it selected; the lines' darkness is the attention weight.",
    readsMost: function (query, keys) { return query + " reads most from " + keys + " (its weights sum to 1)."; },
    readBy: function (key, total, n) {
      return key + " is read with total weight " + total + " by the " + n + " queries.";
    },
    everyLine: "every query's lines, darker where the weight is larger.",
  },
  ko: {
    layer: "층", head: "헤드", mean: "헤드 평균",
    hint: "토큰에 마우스를 올리거나, 클릭해 선택을 고정하세요. 선이 진할수록 어텐션 가중치가 큽니다.",
    readsMost: function (query, keys) { return query + "이(가) 가장 많이 읽는 키: " + keys + " (가중치의 합은 1)."; },
    readBy: function (key, total, n) { return key + "을(를) 쿼리 " + n + "개가 합계 가중치 " + total + "로 읽습니다."; },
    everyLine: "모든 쿼리의 선: 가중치가 클수록 진합니다.",
  },
};
