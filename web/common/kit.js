'use strict';
// Shared by the service's own pages (/courier, /station): translations, DOM helpers and API calls whose
// refusals become readable lines. Plain ES2017 without modules, so older PDA browsers run it too.
var kit = (function () {
  function $(id) { return document.getElementById(id); }

  /** Removes every child (replaceChildren is missing from older PDA browsers). */
  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
    return node;
  }

  /** An element with text set as text (never HTML from an answer). */
  function el(tag, text, className) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  /**
   * Translations: T = { en: {...}, zh: {...} }; elements with data-t="key" get their text on apply().
   * The choice is kept under `storageKey` in `storage` (a preference, never personal data).
   */
  function i18n(T, storage, storageKey) {
    var lang = storage.getItem(storageKey) || (/^zh/i.test(navigator.language) ? 'zh' : 'en');
    function t(k, vars) {
      var s = (T[lang] && T[lang][k]) || T.en[k] || k;
      Object.keys(vars || {}).forEach(function (name) { s = s.split('{' + name + '}').join(String(vars[name])); });
      return s;
    }
    function apply() {
      document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
      Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (e) { e.textContent = t(e.getAttribute('data-t')); });
      Array.prototype.forEach.call(document.querySelectorAll('[data-t-placeholder]'), function (e) { e.placeholder = t(e.getAttribute('data-t-placeholder')); });
    }
    function set(l) { lang = l === 'zh' ? 'zh' : 'en'; storage.setItem(storageKey, lang); apply(); }
    return { t: t, apply: apply, set: set, get: function () { return lang; } };
  }

  /** A problem+json answer as lines: its title and detail, then each field path with its message. */
  function problemLines(status, body, failed) {
    if (!body || typeof body !== 'object') return [failed + ' (' + status + ')'];
    var lines = [(body.title || failed) + ' (' + status + ')' + (body.detail ? ': ' + body.detail : '')];
    (body.errors || []).forEach(function (e) {
      var where = (e.line !== undefined ? 'line ' + e.line + ' ' : e.index !== undefined ? '#' + e.index + ' ' : '') + (e.path || '');
      lines.push(where + ': ' + e.message);
    });
    return lines;
  }

  /**
   * fetch with a bearer credential, never cached, never with cookies. Resolves the response when ok;
   * otherwise rejects with an Error carrying status, body (problem+json or null), retryAfter (seconds)
   * and offline (true when the request never reached the service).
   */
  function api(path, init, credential) {
    init = Object.assign({}, init || {});
    init.headers = Object.assign(credential ? { authorization: 'Bearer ' + credential } : {}, init.headers || {});
    init.cache = 'no-store';
    init.credentials = 'omit';
    return fetch(path, init).then(function (res) {
      if (res.ok) return res;
      return res.json().catch(function () { return null; }).then(function (body) {
        var err = new Error('http ' + res.status);
        err.status = res.status;
        err.body = body;
        err.retryAfter = Number(res.headers.get('retry-after')) || undefined;
        throw err;
      });
    }, function () {
      var err = new Error('offline');
      err.offline = true;
      throw err;
    });
  }

  function json(path, method, body, credential) {
    return api(path, { method: method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, credential);
  }

  return { $: $, el: el, clear: clear, i18n: i18n, problemLines: problemLines, api: api, json: json };
})();
