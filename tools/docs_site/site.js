/* ddm-nb docs site: offline search, in-page table of contents, click-to-enlarge figures.
   No server and no network: the search index is a script next to this one (_static/search_index.js, written by
   tools/build_docs.py), loaded on first use, so the pages work from file:// as well as from any web server. */
(function () {
  'use strict';
  var root = document.body.getAttribute('data-root') || '';

  // ---------------------------------------------------------------- helpers
  function esc(s) { return String(s).replace(/[&<>"]/g, function (c) { return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]; }); }
  function fold(s) { return String(s).toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, ''); }
  // words only, separated by single spaces, padded: ' word word ' (word-start match = indexOf(' ' + term))
  function words(s) { return ' ' + fold(s).replace(/[^\p{L}\p{N}]+/gu, ' ').trim() + ' '; }
  function reEsc(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
  // a heading id as a link fragment: nbconvert's ids are percent-encoded already (Kaplan%E2%80%93Yorke), so `%` stays
  function frag(id) { return '#' + id.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@\/?%]/g, encodeURIComponent); }
  function target(hash) {
    var raw = hash.replace(/^#/, ''), dec = raw;
    try { dec = decodeURIComponent(raw); } catch (e) {}
    return document.getElementById(raw) || document.getElementById(dec);
  }
  function typeset(el) { if (window.MathJax && MathJax.typesetPromise) MathJax.typesetPromise([el]).catch(function () {}); }

  // ---------------------------------------------------------------- search
  var input = document.getElementById('ddm-search-input');
  var panel = document.getElementById('ddm-search-results');
  var index = null, loading = null, hits = [], active = -1, timer = null;

  function load() {
    if (index) return Promise.resolve(index);
    if (!loading) loading = new Promise(function (ok, fail) {
      var s = document.createElement('script');
      s.src = root + '_static/search_index.js';
      s.onload = function () {
        var d = window.DDM_SEARCH_INDEX;
        if (!d) return fail(new Error('the search index is empty'));
        d.entries = d.sections.map(function (x) {
          var page = d.pages[x[0]];
          return {page: page, id: x[1], head: x[2], kind: x[3], text: x[4],
                  wh: words(x[2]), wp: words(page.title), wt: words(x[4])};
        });
        index = d; ok(d);
      };
      s.onerror = function () { loading = null; fail(new Error('could not load ' + s.src)); };
      document.head.appendChild(s);
    });
    return loading;
  }

  function count(hay, needle, most) {
    var n = 0, i = hay.indexOf(needle);
    while (i >= 0 && n < most) { n++; i = hay.indexOf(needle, i + needle.length); }
    return n;
  }

  function score(e, terms, phrase) {
    var s = 0;
    for (var k = 0; k < terms.length; k++) {
      var t = ' ' + terms[k], inHead = e.wh.indexOf(t) >= 0, inPage = e.wp.indexOf(t) >= 0, n = count(e.wt, t, 20);
      if (!inHead && !inPage && !n) return 0;          // every word must occur
      s += (inHead ? 10 : 0) + (inPage ? 2 : 0) + (n ? 1 + Math.min(n, 20) * 0.25 : 0);
    }
    if (e.wh === ' ' + phrase + ' ') s += 30;           // the heading is the query (an API name, a section)
    else if (terms.length > 1 && e.wh.indexOf(' ' + phrase) >= 0) s += 20;
    if (terms.length > 1) s += 4 * count(e.wt, ' ' + phrase, 5);
    return s;
  }

  function search(q) {
    var terms = fold(q).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
    if (!terms.length) return [];
    var phrase = terms.join(' ');
    return index.entries.map(function (e) { return {e: e, s: score(e, terms, phrase)}; })
      .filter(function (r) { return r.s > 0; })
      .sort(function (a, b) { return b.s - a.s; })
      .slice(0, 20).map(function (r) { r.terms = terms; r.phrase = phrase; return r; });
  }

  // a window of the section's text around the match, never cutting $...$ math, with the words marked
  function snippet(text, terms, phrase) {
    var at = -1;
    var first = new RegExp('(?:^|[^\\p{L}\\p{N}])(' + reEsc(phrase).replace(/ /g, '[^\\p{L}\\p{N}]+') + ')', 'iu').exec(text)
             || new RegExp('(?:^|[^\\p{L}\\p{N}])(' + terms.map(reEsc).join('|') + ')', 'iu').exec(text);
    if (first) at = first.index + first[0].length - first[1].length;
    var a = Math.max(0, at - 70), b = Math.min(text.length, Math.max(at, 0) + 150);
    var math = [], m, re = /\$[^$]+\$/g;
    while ((m = re.exec(text))) math.push([m.index, m.index + m[0].length]);
    math.forEach(function (r) { if (a > r[0] && a < r[1]) a = r[0]; if (b > r[0] && b < r[1]) b = r[1]; });
    if (a > 0) { var sp = text.lastIndexOf(' ', a); a = sp > a - 20 && sp >= 0 ? sp + 1 : a; }
    var out = '', pos = a, mark = new RegExp('(^|[^\\p{L}\\p{N}])(' + terms.map(reEsc).join('|') + ')', 'giu');
    function plain(s) { return esc(s).replace(mark, '$1<mark>$2</mark>'); }
    math.filter(function (r) { return r[0] >= a && r[1] <= b; }).forEach(function (r) {
      out += plain(text.slice(pos, r[0])) + esc(text.slice(r[0], r[1])); pos = r[1];
    });
    out += plain(text.slice(pos, b));
    return (a > 0 ? '… ' : '') + out + (b < text.length ? ' …' : '');
  }

  function show(q) {
    hits = search(q); active = -1;
    var head = hits.length ? hits.length + (hits.length === 20 ? '+' : '') + ' result' + (hits.length > 1 ? 's' : '') + ' for “' + esc(q) + '”'
                           : 'No results for “' + esc(q) + '”';
    var html = '<p class="ddm-search-status" role="status">' + head + '</p>';
    hits.forEach(function (r, i) {
      var e = r.e, href = root + e.page.href + (e.id ? frag(e.id) : '');
      var where = esc(e.page.title) + (e.head && e.head !== e.page.title ? ' › <b>' + esc(e.head) + '</b>' : '');
      html += '<a class="ddm-result" role="option" id="ddm-result-' + i + '" href="' + esc(href) + '">'
            + '<span class="ddm-result-where">' + where + (e.kind === 'api' ? ' <span class="ddm-result-kind">API</span>' : '') + '</span>'
            + '<span class="ddm-result-text">' + snippet(e.text, r.terms, r.phrase) + '</span></a>';
    });
    panel.innerHTML = html;
    open();
    typeset(panel);
  }

  function place() {
    var r = input.getBoundingClientRect();
    panel.style.top = Math.round(r.bottom + 4) + 'px';
    panel.style.left = Math.round(Math.max(8, r.left)) + 'px';
  }
  function open() { place(); panel.hidden = false; input.setAttribute('aria-expanded', 'true'); }
  function close() { panel.hidden = true; input.setAttribute('aria-expanded', 'false'); active = -1; }
  function highlight(i) {
    var links = panel.querySelectorAll('.ddm-result');
    if (!links.length) return;
    active = (i + links.length) % links.length;
    links.forEach(function (a, k) { a.classList.toggle('active', k === active); a.setAttribute('aria-selected', k === active); });
    links[active].scrollIntoView({block: 'nearest'});
    input.setAttribute('aria-activedescendant', links[active].id);
  }
  function run() {
    var q = input.value.trim();
    if (!q) { close(); return; }
    load().then(function () { if (input.value.trim() === q) show(q); },
                function (err) { panel.innerHTML = '<p class="ddm-search-status" role="status">Search unavailable: ' + esc(err.message) + '</p>'; open(); });
  }

  if (input && panel) {
    input.addEventListener('focus', function () { load().catch(function () {}); if (input.value.trim() && hits.length) open(); });
    input.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(run, 60); });
    input.addEventListener('keydown', function (ev) {
      if (ev.key === 'ArrowDown') { ev.preventDefault(); if (panel.hidden) run(); else highlight(active + 1); }
      else if (ev.key === 'ArrowUp') { ev.preventDefault(); highlight(active - 1); }
      else if (ev.key === 'Escape') { close(); }
      else if (ev.key === 'Enter') {
        ev.preventDefault();
        clearTimeout(timer);
        var go = function () { var links = panel.querySelectorAll('.ddm-result'); if (links.length) links[Math.max(active, 0)].click(); };
        if (panel.hidden || !hits.length) { var q = input.value.trim(); if (q) load().then(function () { show(q); go(); }); } else go();
      }
    });
    panel.addEventListener('click', function (ev) { if (ev.target.closest('.ddm-result')) close(); });
    document.addEventListener('mousedown', function (ev) { if (!ev.target.closest('.ddm-search')) close(); });
    window.addEventListener('resize', function () { if (!panel.hidden) place(); });
    window.addEventListener('scroll', function () { if (!panel.hidden) place(); }, {passive: true});   // narrow screens: the box scrolls
    input.parentElement.addEventListener('focusout', function (ev) {   // Tab away from the box and its results: close them
      if (!ev.relatedTarget || !input.parentElement.contains(ev.relatedTarget)) setTimeout(function () {
        if (!input.parentElement.contains(document.activeElement)) close(); }, 0);
    });
    document.addEventListener('keydown', function (ev) {     // "/" focuses the search box
      var t = ev.target.tagName;
      if (ev.key === '/' && !ev.ctrlKey && !ev.metaKey && t !== 'INPUT' && t !== 'TEXTAREA' && !ev.target.isContentEditable) {
        ev.preventDefault(); input.focus(); input.select();
      }
    });
  }

  // ---------------------------------------------------------------- table of contents: the section in view
  var toc = document.querySelector('.ddm-toc');
  if (toc) {
    var links = [].slice.call(toc.querySelectorAll('a[href^="#"]'));
    var targets = links.map(function (a) { return target(a.getAttribute('href')); });
    var spy = function () {
      var cur = -1;
      targets.forEach(function (t, i) { if (t && t.getBoundingClientRect().top < 100) cur = i; });
      links.forEach(function (a, i) { a.classList.toggle('active', i === cur); });
      if (cur >= 0 && getComputedStyle(toc).position === 'fixed') {
        var a = links[cur], top = a.offsetTop - toc.scrollTop;
        if (top < 40 || top > toc.clientHeight - 40) toc.scrollTop = a.offsetTop - toc.clientHeight / 3;
      }
    };
    var queued = false;
    window.addEventListener('scroll', function () { if (!queued) { queued = true; requestAnimationFrame(function () { queued = false; spy(); }); } }, {passive: true});
    spy();
  }

  // ---------------------------------------------------------------- figures: click to enlarge
  var last = null;
  function zoom(img) {
    var box = document.createElement('div');
    box.className = 'ddm-lightbox';
    box.setAttribute('role', 'dialog'); box.setAttribute('aria-modal', 'true');
    box.setAttribute('aria-label', img.alt ? 'Figure: ' + img.alt : 'Figure');
    var big = new Image(), nw = img.naturalWidth || img.width, nh = img.naturalHeight || img.height;
    big.src = img.currentSrc || img.src; big.alt = img.alt || '';
    var s = Math.min(0.96 * window.innerWidth / nw, (img.alt ? 0.86 : 0.92) * window.innerHeight / nh, 2.5);
    big.style.width = Math.round(nw * s) + 'px';
    var fig = document.createElement('figure');
    fig.appendChild(big);
    if (img.alt) { var cap = document.createElement('figcaption'); cap.textContent = img.alt; fig.appendChild(cap); }
    var x = document.createElement('button');
    x.type = 'button'; x.className = 'ddm-lightbox-close'; x.setAttribute('aria-label', 'Close'); x.textContent = '×';
    box.appendChild(x); box.appendChild(fig);
    var done = function () { box.remove(); document.removeEventListener('keydown', key, true); if (last) last.focus(); };
    var key = function (ev) { if (ev.key === 'Escape' || ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); ev.stopPropagation(); done(); } };
    box.addEventListener('click', done);
    document.addEventListener('keydown', key, true);
    document.body.appendChild(box);
    last = img; x.focus();
  }
  // a figure at least half as wide as the text fills it (small single plots keep their size: no blown-up pixels)
  function fit(img) {
    var box = img.parentElement, w = box ? box.clientWidth : 0;
    if (w && img.naturalWidth >= 0.5 * w) img.classList.add('ddm-wide');
  }
  [].forEach.call(document.querySelectorAll('main.ddm-page img'), function (img) {
    if (img.complete) fit(img); else img.addEventListener('load', function () { fit(img); });
    img.classList.add('ddm-zoom');
    img.tabIndex = 0;
    img.setAttribute('role', 'button');
    img.setAttribute('aria-label', 'Enlarge the figure' + (img.alt ? ': ' + img.alt : ''));
    img.title = 'Click to enlarge';
    img.addEventListener('click', function () { zoom(img); });
    img.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); zoom(img); } });
  });
})();
