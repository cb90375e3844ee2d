// Shared by every interactive figure: make an HTML or SVG element, read a figure's data.
var TL_HTML_TAGS = { div: true, span: true, button: true, label: true, input: true, output: true };
function tlElement(tag, attrs, parent, text) {
  var node = TL_HTML_TAGS[tag] ? document.createElement(tag) : document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (var name in attrs) node.setAttribute(name, attrs[name]);
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}
// A figure's data, read once the script runs; the text shown until then is removed.
function tlData(root) {
  var placeholder = root.querySelector(".tl-placeholder");
  if (placeholder) root.removeChild(placeholder);
  return JSON.parse(root.querySelector('script[type="application/json"]').textContent);
}
// The figure's words in the page's language: Korean on the Korean book's pages (<html lang="ko">),
// English everywhere else (the English book, JupyterLab, Colab). `words` maps a language to its words.
function tlWords(root, words) {
  var page = root.closest("[lang]");
  var language = page ? page.getAttribute("lang").slice(0, 2) : "en";
  return words[language] || words.en;
}
