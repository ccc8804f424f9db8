// Enhancements only: every page reads fine without this script.
(function () {
  "use strict";

  // Times: add the reader's local time after the UTC one.
  function localTimes() {
    document.querySelectorAll("time[data-local]").forEach(function (el) {
      var when = new Date(el.getAttribute("datetime"));
      if (isNaN(when)) return;
      var local = when.toLocaleString(undefined, { weekday: "short", hour: "2-digit", minute: "2-digit", month: "short", day: "numeric" });
      var span = document.createElement("span");
      span.className = "local-time muted";
      span.textContent = " (your time: " + local + ")";
      el.after(span);
    });
  }

  // Countdowns to the next meeting.
  function countdowns() {
    var els = document.querySelectorAll("[data-countdown]");
    if (!els.length) return;
    function tick() {
      els.forEach(function (el) {
        var left = (new Date(el.getAttribute("data-countdown")) - new Date()) / 1000;
        if (isNaN(left)) return;
        if (left <= 0) { el.textContent = "(now)"; return; }
        var d = Math.floor(left / 86400), h = Math.floor(left % 86400 / 3600), m = Math.floor(left % 3600 / 60);
        el.textContent = "(in " + (d ? d + (d === 1 ? " day " : " days ") : "") + h + " h " + m + " min)";
      });
    }
    tick();
    setInterval(tick, 30000);
  }

  // A "#t=SECONDS" address lands on the transcript line being spoken at that second.
  function toMoment() {
    var m = /^#t=(\d+(?:\.\d+)?)/.exec(location.hash);
    if (!m) return;
    var t = parseFloat(m[1]);
    var lines = document.querySelectorAll(".transcript .line");
    var best = null;
    for (var i = 0; i < lines.length; i++) {
      if (parseFloat(lines[i].getAttribute("data-start")) <= t + 0.5) best = lines[i]; else break;
    }
    if (!best) best = lines[0];
    if (!best) return;
    document.querySelectorAll(".line.target").forEach(function (el) { el.classList.remove("target"); });
    best.classList.add("target");
    best.setAttribute("tabindex", "-1");
    best.scrollIntoView({ block: "center" });
    best.focus({ preventScroll: true });
  }

  // The static copy of the site searches its prebuilt index in the browser.
  function escapeHtml(s) {
    return s.replace(/[&<>"']/g, function (c) { return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]; });
  }
  function staticSearch() {
    var index = window.WG_SEARCH;
    var box = document.getElementById("results");
    if (!index || !box) return;
    var q = new URLSearchParams(location.search).get("q");
    var input = document.getElementById("q");
    if (q === null) { box.innerHTML = ""; return; }
    if (input) input.value = q;
    var terms = (q.toLowerCase().match(/[\w'#+.-]+/g) || []).filter(function (t) { return t.length >= 2; }).slice(0, 8);
    if (!terms.length || q.length > 200) {
      box.innerHTML = '<p class="error" role="alert">' + (q.length > 200 ? "The search is too long." : "Type a word or two to search for.") + "</p>";
      return;
    }
    var hits = [];
    for (var i = 0; i < index.docs.length && hits.length < 50; i++) {
      var doc = index.docs[i], low = doc.x.toLowerCase();
      if (terms.every(function (t) { return low.indexOf(t) >= 0; })) hits.push(doc);
    }
    var re = new RegExp("(" + terms.map(function (t) { return t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }).join("|") + ")", "gi");
    var html = "<p>" + hits.length + (hits.length === 50 ? "+" : "") + " result" + (hits.length === 1 ? "" : "s") + " for “" + escapeHtml(q) + "”.</p><ol class=\"hits\">";
    hits.forEach(function (doc) {
      var m = index.meetings[doc.m];
      var href = "../meetings/" + m.slug + "/index.html" + (doc.a !== null ? "#t=" + Math.floor(doc.a) : "");
      var first = Math.max(0, doc.x.toLowerCase().indexOf(terms[0]) - 60);
      var text = (first ? "…" : "") + doc.x.slice(first, first + 180) + (first + 180 < doc.x.length ? "…" : "");
      html += '<li><a href="' + escapeHtml(href) + '">' + escapeHtml(m.date) + "</a> <span class=\"muted\">" + escapeHtml(m.title) +
        (doc.s ? " · " + escapeHtml(doc.s) : "") + '</span><p class="snippet">' + escapeHtml(text).replace(re, "<mark>$1</mark>") + "</p></li>";
    });
    box.innerHTML = html + "</ol>";
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes();
    countdowns();
    toMoment();
    staticSearch();
  });
  window.addEventListener("hashchange", toMoment);
})();

// The live page: new transcript lines as the server sends them (server-sent events).
(function () {
  "use strict";
  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds)), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    var mm = (h ? String(m).padStart(2, "0") : String(m)), ss = String(r).padStart(2, "0");
    return h ? h + ":" + mm + ":" + ss : mm + ":" + ss;
  }
  function line(data) {
    var p = document.createElement("p");
    p.className = "line";
    p.setAttribute("data-start", data.start.toFixed(2));
    [["time", clock(data.start)], ["speaker", data.speaker], ["text", data.text]].forEach(function (part, i) {
      var span = document.createElement("span");
      span.className = part[0];
      span.textContent = part[1];  // text, never markup
      if (i) p.appendChild(document.createTextNode(" "));
      p.appendChild(span);
    });
    return p;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("live-lines");
    if (!box || !window.EventSource) return;
    var url = box.getAttribute("data-events") + "&from=" + box.getAttribute("data-offset");
    var source = new EventSource(url);
    var state = document.getElementById("live-state"), note = document.getElementById("live-note");
    source.addEventListener("line", function (e) {
      var nearEnd = window.innerHeight + window.scrollY >= document.body.scrollHeight - 80;
      box.appendChild(line(JSON.parse(e.data)));
      if (nearEnd) window.scrollTo(0, document.body.scrollHeight);
    });
    source.addEventListener("reset", function () { box.textContent = ""; });
    source.addEventListener("state", function (e) { state.textContent = JSON.parse(e.data); });
    source.addEventListener("end", function (e) {
      state.textContent = JSON.parse(e.data);
      note.textContent = "The call has ended; the minutes appear on the meeting's page once they are published.";
      source.close();
    });
    source.addEventListener("expired", function () {
      note.textContent = "This live link has expired. Ask for a new one with /live in Discord.";
      source.close();
    });
  });
})();
