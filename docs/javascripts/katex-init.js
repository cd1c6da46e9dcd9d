// Render the \( \) and \[ \] spans that pymdownx.arithmatex (generic mode) leaves in the page,
// with the KaTeX copy vendored under assets/katex (no CDN). Material's instant navigation
// swaps the page body without a reload, so re-render on each document$ emission.
(function () {
  function render(root) {
    renderMathInElement(root, {
      delimiters: [
        { left: "\\(", right: "\\)", display: false },
        { left: "\\[", right: "\\]", display: true },
      ],
      throwOnError: false,
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { render(document.body); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { render(document.body); });
  }
})();
