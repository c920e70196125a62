/* Filters for a list of cards: the course finder (courses/index.html) and the SLE directory.

   The page lists every card in its HTML, so it works without JavaScript. Here the filter form
   (hidden until this script runs) narrows the list: each field's name matches a data-<name>
   attribute on every card, a space-separated list of values; "*" matches any value (a course
   for every phase). An empty field matches everything. The form's state lives in the query
   string (?role=teaching-assistant&term=spring-2027), so a link can open the page filtered,
   and the count of matching cards is announced (role="status").

   A big offer: the finder's page holds only the soonest cards (data-more names the page that
   holds them all), so that it appears quickly on a phone. Once the page has loaded (at once
   if the address asks for a filter), that page is fetched and its cards replace the first
   ones; until then a filter shows "Finding courses...", never a partial answer.

   Speed at 5,000 cards: the cards' values are read once, when they arrive; a change then
   only compares strings and puts the matching cards in the list: at most `limit` of them
   (50, and 50 more at each "Show more"), as laying out cards is what a repaint costs.
   The others are kept out of the document, not hidden in it: each card holds links, and with
   thousands of links in the page every history.replaceState took 50-100 ms (Chromium
   re-resolves every relative link when the address changes), more than a repaint's budget. */
(function () {
  "use strict";

  function Finder(form) {
    this.form = form;
    this.list = document.getElementById(form.dataset.results);
    this.count = document.getElementById(form.dataset.count);
    this.empty = document.getElementById(form.dataset.empty);
    this.nouns = (form.dataset.noun || "item|items").split("|");
    this.fields = Array.prototype.filter.call(form.elements, function (e) { return e.name; });
    this.names = this.fields.map(function (e) { return e.name; });
    this.loading = !!form.dataset.more;
    this.step = parseInt(form.dataset.page || "50", 10);   // cards shown at most, at first
    this.limit = this.step;
    this.moreButton = document.getElementById(form.dataset.showMore);
    this.read();
  }

  Finder.prototype.read = function (cards) {
    var names = this.names;
    this.items = Array.prototype.map.call(cards || this.list.children, function (card) {
      var values = {};
      names.forEach(function (name) {
        values[name] = (card.getAttribute("data-" + name) || "").split(" ");
      });
      return { card: card, values: values };
    });
    this.displayed = Array.prototype.slice.call(this.list.children);   // what the page shows now
  };

  /* The page that holds every card: fetched, its cards moved into this page's list. */
  Finder.prototype.loadAll = function () {
    var self = this, form = this.form;
    fetch(form.dataset.more).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (text) {
      var page = new DOMParser().parseFromString(text, "text/html");
      var all = page.getElementById(form.dataset.moreList);
      var cards = Array.prototype.slice.call(all.children).map(function (card) {
        return document.adoptNode(card);            // kept out of the page until shown
      });
      var note = document.getElementById(form.dataset.moreNote);
      if (note) note.hidden = true;
      self.loading = false;
      self.read(cards);
      self.list.hidden = false;
      self.apply();
      form.dataset.ready = "1";
    }).catch(function () {
      self.loading = false;
      self.list.hidden = false;
      self.count.textContent = "Could not load every course: the soonest are below, and the link after them lists them all.";
      form.dataset.ready = "1";
    });
  };

  Finder.prototype.wanted = function () {
    var wanted = {};
    this.fields.forEach(function (field) {
      var value = field.type === "checkbox" ? (field.checked ? field.value : "") : field.value;
      if (value) wanted[field.name] = value;
    });
    return wanted;
  };

  Finder.prototype.apply = function () {
    var wanted = this.wanted(), keys = Object.keys(wanted), shown = 0;
    if (this.loading) {                    // only the first cards are here: no partial answers
      this.list.hidden = keys.length > 0;
      this.count.textContent = keys.length ? "Finding courses\u2026" : this.count.textContent;
      return wanted;
    }
    // At most `limit` matching cards are displayed (the rest behind "Show more"): laying out
    // thousands of cards is what makes a repaint slow, not choosing them.
    var display = [];
    for (var i = 0; i < this.items.length; i++) {
      var item = this.items[i], match = true;
      for (var k = 0; k < keys.length && match; k++) {
        var values = item.values[keys[k]];
        match = values.indexOf(wanted[keys[k]]) >= 0 || values.indexOf("*") >= 0;
      }
      if (match && ++shown <= this.limit) display.push(item.card);
    }
    this.show(display);
    this.announce(shown, keys.length > 0);
    if (this.moreButton) {
      var left = shown - Math.min(shown, this.limit);
      this.moreButton.hidden = left === 0;
      this.moreButton.textContent = "Show " + Math.min(left, this.step) + " more (" + left + " not shown yet)";
    }
    return wanted;
  };

  /* The list holds exactly `cards`, in order; unchanged when they are the ones shown already. */
  Finder.prototype.show = function (cards) {
    var same = cards.length === this.displayed.length && cards.every(function (card, i) {
      return card === this.displayed[i];
    }, this);
    if (same) return;
    cards.forEach(function (card) { card.hidden = false; });
    this.list.replaceChildren.apply(this.list, cards);
    this.displayed = cards;
  };

  Finder.prototype.announce = function (shown, filtered) {
    var total = this.items.length;
    var noun = (filtered ? shown : total) === 1 ? this.nouns[0] : this.nouns[1];
    this.count.textContent = filtered
      ? shown + " of " + total + " " + this.nouns[1] + " match" + (shown === 1 ? "es" : "")
      : total + " " + noun;
    if (this.empty) this.empty.hidden = shown > 0;
  };

  Finder.prototype.fromQuery = function () {
    var params = new URLSearchParams(location.search);
    this.fields.forEach(function (field) {
      var value = params.get(field.name);
      if (field.type === "checkbox") {
        field.checked = value === field.value;
      } else if (value !== null) {
        if (!Array.prototype.some.call(field.options, function (o) { return o.value === value; })) {
          field.add(new Option(value, value));         // a value this site does not offer now
        }
        field.value = value;
      }
    });
  };

  Finder.prototype.toQuery = function (wanted) {
    var params = new URLSearchParams(location.search);
    this.names.forEach(function (name) { params.delete(name); });
    Object.keys(wanted).forEach(function (name) { params.set(name, wanted[name]); });
    var query = params.toString();
    history.replaceState(history.state, "", location.pathname + (query ? "?" + query : "") + location.hash);
  };

  Finder.prototype.mount = function () {
    var self = this;
    this.fromQuery();
    var filtered = this.apply();
    this.form.hidden = false;
    if (!this.loading) {
      this.form.dataset.ready = "1";
    } else if (Object.keys(filtered).length || document.readyState === "complete") {
      this.loadAll();
    } else {
      window.addEventListener("load", function () { self.loadAll(); }, { once: true });
    }
    this.form.addEventListener("change", function () {
      self.limit = self.step;
      self.toQuery(self.apply());
    });
    if (this.moreButton) {
      this.moreButton.addEventListener("click", function () {
        self.limit += self.step;
        self.apply();
      });
    }
    this.form.addEventListener("submit", function (event) { event.preventDefault(); });
    this.form.addEventListener("reset", function () {
      self.limit = self.step;
      setTimeout(function () { self.toQuery(self.apply()); }, 0);    // after the fields reset
    });
  };

  function mountAll() {
    document.querySelectorAll("form.tsa-filters").forEach(function (form) {
      if (form.dataset.mounted) return;
      form.dataset.mounted = "1";
      new Finder(form).mount();
    });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(mountAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})();
