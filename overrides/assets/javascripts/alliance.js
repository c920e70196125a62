/* The alliance website's one script (copied to site/assets/javascripts/).

   A table wider than the screen (a course's sessions on a phone, say) scrolls sideways inside
   Material's .md-typeset__scrollwrap. Someone using a keyboard can only scroll a region that
   can take focus (WCAG 2.1.1; axe's scrollable-region-focusable), and a region that takes
   focus needs a name. So each wrap that overflows becomes a named, focusable region; when it
   fits again (the window widened) it goes back to being a plain box. Material's instant
   navigation swaps pages without reloading: document$ tells us each time. */
(function () {
  "use strict";

  function name(wrap) {
    var heading = null;
    for (var node = wrap.previousElementSibling; node; node = node.previousElementSibling) {
      if (/^H[1-6]$/.test(node.tagName)) { heading = node; break; }
    }
    var title = heading ? heading.textContent.trim() : "Table";
    return title + " (table: scroll sideways to see all of it)";
  }

  function update(wrap) {
    var overflows = wrap.scrollWidth > wrap.clientWidth + 1;
    if (overflows && !wrap.hasAttribute("tabindex")) {
      wrap.setAttribute("tabindex", "0");
      wrap.setAttribute("role", "region");
      wrap.setAttribute("aria-label", name(wrap));
      wrap.classList.add("tsa-scrolls");
    } else if (!overflows && wrap.classList.contains("tsa-scrolls")) {
      wrap.removeAttribute("tabindex");
      wrap.removeAttribute("role");
      wrap.removeAttribute("aria-label");
      wrap.classList.remove("tsa-scrolls");
    }
  }

  var observer = "ResizeObserver" in window ? new ResizeObserver(function (entries) {
    entries.forEach(function (entry) { update(entry.target); });
  }) : null;

  function mount() {
    document.querySelectorAll(".md-typeset__scrollwrap").forEach(function (wrap) {
      update(wrap);
      if (observer) observer.observe(wrap);
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(mount);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();

/* A "Search this website" button (the 404 page): Material opens its search when the search
   box takes focus. */
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-tsa-search]");
  if (!button) return;
  var box = document.querySelector(".md-search__input");
  var toggle = document.getElementById("__search");
  if (toggle) toggle.checked = true;
  if (box) box.focus();
});

/* The skip link moves the keyboard focus to the main content, not only the view: with the
   tabs above the content, Chromium otherwise sometimes resumed Tab at the tabs. */
document.addEventListener("click", function (event) {
  var skip = event.target.closest && event.target.closest("a.md-skip");
  if (!skip) return;
  var target = document.getElementById(decodeURIComponent(skip.hash.slice(1)));
  if (!target) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
});

/* Zensical only (build --engine zensical): its search dialog lives in a shadow root, out of
   reach of our stylesheet, with highlighted words in the accent colour (4.25:1 on white), the
   page path at 45% of the text colour (3.4:1), and a results list that scrolls but cannot take
   focus. Once the dialog is in the page, a style of our own goes into its shadow root: links'
   colour for highlights, 70% text for the path (both above 4.5:1 in light and dark), and the
   scrolling list becomes a named, focusable region. Material's own search is not touched. */
(function () {
  "use strict";
  var css = ":host,dialog{--color-highlight:var(--md-typeset-a-color,#3f51b5)!important}" +
            "mark,mark u{color:var(--md-typeset-a-color,#3f51b5)!important}" +
            ".n{color:rgb(var(--color-foreground)/.72)}";

  function fix(root) {
    if (!root.querySelector("dialog")) return;
    if (!root.querySelector("style[data-tsa]")) {
      var style = document.createElement("style");
      style.setAttribute("data-tsa", "");
      style.textContent = css;
      root.appendChild(style);
    }
    root.querySelectorAll(".k:not([data-tsa])").forEach(function (list) {
      list.setAttribute("data-tsa", "");
      list.setAttribute("tabindex", "0");
      list.setAttribute("role", "region");
      list.setAttribute("aria-label", "Search results");
    });
  }

  function look() {
    document.querySelectorAll("body > *").forEach(function (node) {
      var root = node.shadowRoot;
      if (root && !root.__tsaObserved) {       // the dialog may come later: watch the root
        root.__tsaObserved = true;
        new MutationObserver(function () { fix(root); })
          .observe(root, { childList: true, subtree: true });
        fix(root);
      }
    });
  }

  if (!document.querySelector(".md-search__button")) return;     // Material: nothing to do
  new MutationObserver(look).observe(document.body, { childList: true });
  look();
})();
