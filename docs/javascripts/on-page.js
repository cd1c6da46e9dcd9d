// Run a widget's initAll on every page the reader sees. Material's document$ emits once per
// page (also after instant navigation); without Material, once the DOM is ready. Loaded before
// the widgets (mkdocs.yml's extra_javascript order), which call window.cnnrefOnPage(initAll).
window.cnnrefOnPage = function (init) {
  if (typeof document$ !== "undefined") {
    document$.subscribe(init);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
};
