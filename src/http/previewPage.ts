// /preview: the operator's preview page. A warehouse (or printer, admin) key entered once per browser tab,
// an order pasted or uploaded, and the labels shown as they would print — through POST /v1/previews,
// which creates nothing. The page, its script and its style are strings here (as /docs does), so a built
// tree serves them with no copy step; the script and style are separate files because the
// Content-Security-Policy allows no inline code. The key lives in sessionStorage only (gone with the tab,
// never in localStorage), and the page sets text with textContent only, never HTML from an answer.

import express from 'express';

/** This origin only; blob: for the PDF frame and the PNG images the page makes from API answers. */
export const PREVIEW_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob:; frame-src blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Label preview · 面单预览</title>
<link rel="stylesheet" href="/preview/preview.css">
<script src="/preview/preview.js" defer></script>
</head>
<body>
<header>
  <h1 data-t="title">Label preview</h1>
  <select id="lang" aria-label="Language / 语言"><option value="en">English</option><option value="zh">中文</option></select>
  <button id="logout" type="button" hidden data-t="logout">Log out</button>
</header>
<noscript>This page needs JavaScript. 此页面需要 JavaScript。</noscript>
<main>
  <form id="login" hidden>
    <label for="key" data-t="key">API key (warehouse)</label>
    <input id="key" type="password" autocomplete="off" spellcheck="false" required>
    <button id="enter" type="submit" data-t="enter">Enter</button>
    <p class="hint" data-t="keyHint">Kept in this tab only, until you log out or close it.</p>
  </form>
  <form id="work" hidden>
    <label for="order" data-t="order">Order (JSON, a batch or NDJSON)</label>
    <textarea id="order" rows="10" spellcheck="false"></textarea>
    <label for="file" data-t="file">or upload a file</label>
    <input id="file" type="file" accept=".json,.ndjson,.jsonl,application/json,application/x-ndjson">
    <div class="row">
      <label><span data-t="template">Template</span> <select id="template"></select></label>
      <label><span data-t="format">Format</span> <select id="format">
        <option value="pdf">PDF</option>
        <option value="png">PNG</option>
        <option value="zpl" data-t="zpl">ZPL (shown as PNG)</option>
        <option value="tspl" data-t="tspl">TSPL (shown as PNG)</option>
        <option value="cpcl" data-t="cpcl">CPCL (shown as PNG)</option>
      </select></label>
      <label><span data-t="dpi">DPI</span> <select id="dpi">
        <option value="" data-t="dpiDefault">template default</option>
        <option value="203">203</option>
        <option value="300">300</option>
      </select></label>
      <button id="render" type="submit" data-t="render">Preview</button>
    </div>
  </form>
  <p id="status" role="status"></p>
  <ul id="errors" role="alert" hidden></ul>
  <section id="labels" aria-live="polite"></section>
  <section id="fields"></section>
</main>
</body>
</html>
`;

const CSS = `[hidden]{display:none !important}
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{display:flex;gap:1rem;align-items:center;padding:.5rem 1rem;background:#234;color:#fff}
header h1{font-size:1.2rem;margin:0;flex:1}
main{max-width:60rem;margin:1rem auto;padding:0 1rem}
form{display:flex;flex-direction:column;gap:.5rem;margin-bottom:1rem}
textarea{font-family:ui-monospace,monospace;font-size:.85rem;width:100%;box-sizing:border-box}
.row{display:flex;flex-wrap:wrap;gap:1rem;align-items:center}
.hint{color:#666;font-size:.85rem;margin:0}
#errors{color:#a00;background:#fee;padding:.5rem 1.5rem;border:1px solid #dbb}
#labels iframe{width:100%;height:80vh;border:1px solid #ccc;background:#fff}
#labels img{display:block;max-width:100%;margin:.5rem 0;border:1px solid #ccc;background:#fff;image-rendering:pixelated}
#fields ul.warnings{color:#8a5a00}
#fields table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
#fields th,#fields td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}
`;

// Plain ES2017 with no template literals, so it sits in this TypeScript string unchanged.
const SCRIPT = `'use strict';
(function () {
  var KEY = 'waybill.preview.key';
  var LANG = 'waybill.preview.lang';
  var MAX_PNG = 20;
  var T = {
    en: { title: 'Label preview', logout: 'Log out', key: 'API key (warehouse)', enter: 'Enter', keyHint: 'Kept in this tab only, until you log out or close it.',
      order: 'Order (JSON, a batch or NDJSON)', file: 'or upload a file', template: 'Template', format: 'Format', dpi: 'DPI', dpiDefault: 'template default',
      zpl: 'ZPL (shown as PNG)', tspl: 'TSPL (shown as PNG)', cpcl: 'CPCL (shown as PNG)', render: 'Preview', rendering: 'Rendering…',
      done: 'Preview of {n} waybill(s); nothing was created.', refused: 'The key was refused.', failed: 'The request failed', empty: 'Paste or upload an order first.',
      copy: 'Copy', field: 'Field', value: 'Printed as', waybill: 'Waybill', pngCap: 'Only the first {n} waybills are shown as images.', pdfTitle: 'Labels (PDF)',
      warnings: 'Not printed as given:' },
    zh: { title: '面单预览', logout: '退出', key: 'API 密钥（仓库）', enter: '进入', keyHint: '仅保存在本标签页，退出或关闭即清除。',
      order: '订单（JSON、批量或 NDJSON）', file: '或上传文件', template: '模板', format: '格式', dpi: '分辨率', dpiDefault: '模板默认',
      zpl: 'ZPL（以 PNG 显示）', tspl: 'TSPL（以 PNG 显示）', cpcl: 'CPCL（以 PNG 显示）', render: '预览', rendering: '正在生成…',
      done: '已预览 {n} 张面单，未创建任何数据。', refused: '密钥被拒绝。', failed: '请求失败', empty: '请先粘贴或上传订单。',
      copy: '联', field: '字段', value: '打印内容', waybill: '面单', pngCap: '仅以图片显示前 {n} 张面单。', pdfTitle: '面单（PDF）',
      warnings: '未能按原样打印：' }
  };
  var $ = function (id) { return document.getElementById(id); };
  var urls = [];
  var lang = sessionStorage.getItem(LANG) || (/^zh/i.test(navigator.language) ? 'zh' : 'en');

  function t(k, n) { return (T[lang][k] || T.en[k] || k).replace('{n}', String(n)); }
  function applyLang() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    $('lang').value = lang;
    Array.prototype.forEach.call(document.querySelectorAll('[data-t]'), function (el) { el.textContent = t(el.getAttribute('data-t')); });
  }
  function el(tag, text) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; return e; }
  function clearResults() {
    urls.forEach(function (u) { URL.revokeObjectURL(u); });
    urls = [];
    $('labels').replaceChildren();
    $('fields').replaceChildren();
    $('errors').replaceChildren();
    $('errors').hidden = true;
    $('status').textContent = '';
  }
  function showErrors(lines) {
    var list = $('errors');
    list.replaceChildren();
    lines.forEach(function (l) { list.appendChild(el('li', l)); });
    list.hidden = lines.length === 0;
  }
  // A problem+json answer as lines: its detail, then each field path with its message (never input values).
  function problemLines(status, body) {
    if (!body || typeof body !== 'object') return [t('failed') + ' (' + status + ')'];
    var lines = [(body.title || t('failed')) + ' (' + status + '): ' + (body.detail || '')];
    (body.errors || []).forEach(function (e) {
      var where = (e.line !== undefined ? 'line ' + e.line + ' ' : e.index !== undefined ? '#' + e.index + ' ' : '') + (e.path || '');
      lines.push(where + ': ' + e.message);
    });
    return lines;
  }
  function api(path, init) {
    init = init || {};
    init.headers = Object.assign({ authorization: 'Bearer ' + sessionStorage.getItem(KEY) }, init.headers || {});
    init.cache = 'no-store';
    init.credentials = 'omit';
    return fetch(path, init).then(function (res) {
      if (res.ok) return res;
      return res.json().catch(function () { return null; }).then(function (body) {
        if (res.status === 401) { logout(); body = { title: t('refused'), detail: '' }; }
        var err = new Error('http ' + res.status);
        err.lines = problemLines(res.status, body);
        throw err;
      });
    });
  }
  function showLoggedIn(yes) {
    $('login').hidden = yes;
    $('work').hidden = !yes;
    $('logout').hidden = !yes;
  }
  function logout() {
    sessionStorage.removeItem(KEY);
    clearResults();
    $('template').replaceChildren();
    $('key').value = '';
    showLoggedIn(false);
  }
  function loadTemplates() {
    return api('/v1/templates').then(function (r) { return r.json(); }).then(function (list) {
      var select = $('template');
      select.replaceChildren();
      list.items.forEach(function (tpl) {
        var o = el('option', tpl.id + ' — ' + tpl.name + ' (' + tpl.size.widthMm + '×' + tpl.size.heightMm + ' mm, ' + tpl.copies.length + ')');
        o.value = tpl.id;
        if (tpl.default) o.selected = true;
        select.appendChild(o);
      });
      showLoggedIn(true);
    });
  }
  // The body as the API takes it: one JSON document (an order, an array or {"orders": [...]}) or NDJSON.
  function bodyOf(text) {
    try { return { type: 'application/json', text: JSON.stringify(JSON.parse(text)), orders: ordersOf(JSON.parse(text)) }; }
    catch (e) {
      var lines = text.split(/\\r?\\n/).filter(function (l) { return l.trim() !== ''; });
      var orders = [];
      try { orders = lines.map(function (l) { return JSON.parse(l); }); } catch (e2) { orders = []; }
      return { type: 'application/x-ndjson', text: text, orders: orders };
    }
  }
  function ordersOf(v) {
    if (Array.isArray(v)) return v;
    if (v && typeof v === 'object' && Array.isArray(v.orders) && Object.keys(v).length === 1) return v.orders;
    return [v];
  }
  function query(format) {
    var q = '?format=' + format + '&template=' + encodeURIComponent($('template').value);
    return $('dpi').value ? q + '&dpi=' + $('dpi').value : q;
  }
  function post(format, type, text) {
    return api('/v1/previews' + query(format), { method: 'POST', headers: { 'content-type': type }, body: text });
  }
  function showFields(entries) {
    var box = $('fields');
    entries.forEach(function (w) {
      box.appendChild(el('h2', t('waybill') + ' ' + (w.orderIndex + 1) + ' · ' + w.orderId + ' · ' + w.waybillNo));
      if (w.warnings) {
        // A missing-glyph box or a shortened field, said before the field list shows what did print.
        box.appendChild(el('p', t('warnings')));
        var list = el('ul');
        list.className = 'warnings';
        w.warnings.forEach(function (x) { list.appendChild(el('li', x)); });
        box.appendChild(list);
      }
      w.copies.forEach(function (c) {
        var table = el('table');
        table.className = 'copy';
        var cap = el('caption', t('copy') + ': ' + c.copy + (c.piece !== undefined ? ' #' + c.piece : '') + (c.watermark ? ' · ' + c.watermark : ''));
        table.appendChild(cap);
        var head = el('tr');
        head.appendChild(el('th', t('field')));
        head.appendChild(el('th', t('value')));
        table.appendChild(head);
        Object.keys(c.fields).forEach(function (k) {
          var tr = el('tr');
          tr.appendChild(el('td', k));
          tr.appendChild(el('td', c.fields[k]));
          table.appendChild(tr);
        });
        box.appendChild(table);
      });
    });
  }
  function blobUrl(res) {
    return res.blob().then(function (b) { var u = URL.createObjectURL(b); urls.push(u); return u; });
  }
  function render(ev) {
    ev.preventDefault();
    clearResults();
    var text = $('order').value.trim();
    if (!text) { showErrors([t('empty')]); return; }
    var body = bodyOf(text);
    var format = $('format').value;
    $('status').textContent = t('rendering');
    // The field list first: it validates the orders, so a 422 shows before any image is asked for.
    post('json', body.type, body.text).then(function (r) { return r.json(); }).then(function (entries) {
      showFields(entries);
      if (format === 'pdf') {
        return post('pdf', body.type, body.text).then(blobUrl).then(function (u) {
          var frame = el('iframe');
          frame.id = 'pdf';
          frame.title = t('pdfTitle');
          frame.src = u;
          $('labels').appendChild(frame);
          return entries.length;
        });
      }
      // A PNG holds one waybill, and a printer language is shown as the PNG of the same bitmap.
      var shown = body.orders.slice(0, MAX_PNG);
      if (body.orders.length > MAX_PNG) $('labels').appendChild(el('p', t('pngCap', MAX_PNG)));
      return shown.reduce(function (chain, order, i) {
        return chain.then(function () {
          return post('png', 'application/json', JSON.stringify(order)).then(blobUrl).then(function (u) {
            var img = el('img');
            img.className = 'label';
            img.alt = t('waybill') + ' ' + (i + 1);
            img.src = u;
            $('labels').appendChild(img);
          });
        });
      }, Promise.resolve()).then(function () { return entries.length; });
    }).then(function (n) {
      $('status').textContent = t('done', n);
    }).catch(function (e) {
      $('status').textContent = '';
      showErrors(e.lines || [t('failed')]);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    applyLang();
    $('lang').addEventListener('change', function () { lang = $('lang').value; sessionStorage.setItem(LANG, lang); applyLang(); });
    $('logout').addEventListener('click', logout);
    $('login').addEventListener('submit', function (ev) {
      ev.preventDefault();
      sessionStorage.setItem(KEY, $('key').value.trim());
      $('key').value = '';
      clearResults();
      loadTemplates().catch(function (e) { logout(); showErrors(e.lines || [t('failed')]); });
    });
    $('file').addEventListener('change', function () {
      var f = $('file').files[0];
      if (f) f.text().then(function (text) { $('order').value = text; });
    });
    $('work').addEventListener('submit', render);
    if (sessionStorage.getItem(KEY)) loadTemplates().catch(function (e) { logout(); showErrors(e.lines || [t('failed')]); });
    else showLoggedIn(false);
  });
})();
`;

export function previewPageRoutes(): express.Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', PREVIEW_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Cache-Control', 'no-cache');
    next();
  });
  router.get('/', (_req, res) => {
    res.type('html').send(PAGE);
  });
  router.get('/preview.js', (_req, res) => {
    res.type('text/javascript').send(SCRIPT);
  });
  router.get('/preview.css', (_req, res) => {
    res.type('text/css').send(CSS);
  });
  return router;
}
