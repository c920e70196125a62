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
