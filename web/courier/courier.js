'use strict';
// The courier's handheld app. What stays on the device: the device credential (localStorage, this origin
// only), the session's purpose, today's list (waybill numbers and statuses only) and events waiting for
// the network (waybill number and event type only). Names, phones and addresses live in this page's
// memory while a parcel is shown and nowhere else: API answers are never cached (no-store, and the
// service worker does not touch /v1/), and the parcel view is cleared on "next", after a few idle
// minutes and when the page is hidden.
(function () {
  var $ = kit.$;
  var el = kit.el;
  var CREDENTIAL = 'waybill.courier.credential';
  var TODAY = 'waybill.courier.today';
  var QUEUE = 'waybill.courier.queue';
  // Whose device this is now: queued events are sent only under the credential of the courier who made them.
  var OWNER = 'waybill.courier.owner';
  var PURPOSE = 'waybill.courier.purpose';
  var PARCEL_IDLE_MS = 5 * 60 * 1000;
  var EVENT_OF = { delivery: 'delivered', pickup: 'picked_up', return: 'returned' };

  var T = {
    en: {
      title: 'Courier', pairTitle: 'Pair this device', code: 'Pairing code', device: 'Name of this device', pairButton: 'Pair',
      pairHint: "Ask your outlet for a pairing code (valid 10 minutes, one use) or scan its QR with this phone's camera.",
      purposeTitle: 'What are you doing this session?', delivery: 'Delivery', pickup: 'Pickup', return: 'Return', change: 'change',
      wedge: 'Scan (hardware scanner) or type the code', camera: 'Scan with camera', stopCamera: 'Stop camera',
      waybill: 'Waybill', call: 'Call', sender: 'Sender', next: 'Next parcel', today: 'Today', logout: 'Log out (unpair this device)',
      picked_up: 'Picked up', delivered: 'Delivered', returned: 'Returned',
      st_created: 'created', st_printed: 'printed', st_picked_up: 'picked up', st_delivered: 'delivered', st_returned: 'returned',
      st_cancelled: 'cancelled', st_after_sales: 'after-sales', st_queued: 'waiting for network', st_refused: 'refused, not sent',
      weight: 'Weight', pieces: 'Pieces', contents: 'Contents', routing: 'Routing', validUntil: 'Valid until',
      paired: 'Paired as {device}.', pairRefused: 'That code is wrong, used or expired. Ask for a new one.',
      notAQr: 'That is not a waybill code of this service.', cameraNone: 'No camera is available; use the scanner or type the code.',
      e401: 'This device is no longer paired. Pair it again.', e403: 'Not allowed: {detail}',
      e404: 'Unknown code: not a waybill of your carrier.', e410: 'This code is no longer valid: the parcel’s life has ended.',
      e429: 'Too many requests. Wait {s} s.', e409: 'Not possible now (status: {status}).', failed: 'The request failed',
      offline: 'Offline: events are kept and sent when the network is back.', queued: '{n} event(s) waiting for the network',
      eventDone: '{no}: {event}.', eventQueued: '{no}: {event} will be sent when the network is back.', sentAll: 'The network is back: every waiting event was sent.',
      loggedOut: 'Logged out: this device is unpaired and holds nothing of today.', kg: 'kg',
      scanning: 'Point the camera at the QR code on the label.',
    },
    zh: {
      title: '派件', pairTitle: '绑定此设备', code: '绑定码', device: '设备名称', pairButton: '绑定',
      pairHint: '向网点索取绑定码（10 分钟内有效，仅可使用一次），或用手机相机扫描绑定二维码。',
      purposeTitle: '本次工作内容', delivery: '派件', pickup: '揽收', return: '退回', change: '更改',
      wedge: '扫描（扫描枪）或输入码', camera: '相机扫码', stopCamera: '关闭相机',
      waybill: '运单', call: '拨打', sender: '寄件人', next: '下一件', today: '今日', logout: '退出（解除此设备绑定）',
      picked_up: '已揽收', delivered: '已签收', returned: '已退回',
      st_created: '已创建', st_printed: '已打印', st_picked_up: '已揽收', st_delivered: '已签收', st_returned: '已退回',
      st_cancelled: '已取消', st_after_sales: '售后', st_queued: '等待网络', st_refused: '被拒绝，未发送',
      weight: '重量', pieces: '件数', contents: '物品', routing: '分拣码', validUntil: '有效期至',
      paired: '已绑定：{device}。', pairRefused: '绑定码错误、已使用或已过期，请重新索取。',
      notAQr: '这不是本服务的面单码。', cameraNone: '没有可用的相机，请使用扫描枪或输入。',
      e401: '此设备已解除绑定，请重新绑定。', e403: '不允许：{detail}',
      e404: '未知的码：不是您所属快递公司的运单。', e410: '此码已失效：包裹的生命周期已结束。',
      e429: '请求过多，请 {s} 秒后再试。', e409: '当前无法操作（状态：{status}）。', failed: '请求失败',
      offline: '离线：操作已保存，联网后自动发送。', queued: '{n} 个操作等待网络',
      eventDone: '{no}：{event}。', eventQueued: '{no}：{event}，联网后发送。', sentAll: '网络已恢复：等待中的操作均已发送。',
      loggedOut: '已退出：此设备已解除绑定，不再保存今日记录。', kg: '千克',
      scanning: '将相机对准面单上的二维码。',
    },
  };
  var i18n = kit.i18n(T, localStorage, 'waybill.courier.lang');
  var t = i18n.t;

  var shown = null; // the scan answer on screen (memory only)
  var idleTimer = 0;
  var stream = null;
  var scanLoop = 0;
  var detector = null;

  function credential() { return localStorage.getItem(CREDENTIAL); }
  function show(id, yes) { $(id).hidden = !yes; }

  function say(text, kind) {
    var m = $('message');
    m.textContent = text || '';
    m.className = kind || '';
    m.hidden = !text;
  }

  // ---- today's list and the offline queue: waybill numbers, statuses and event types only ----
  function localDay() { var d = new Date(); return d.getFullYear() + '-' + (d.getMonth() + 1) + '-' + d.getDate(); }
  function readToday() {
    try {
      var v = JSON.parse(localStorage.getItem(TODAY) || 'null');
      if (v && v.day === localDay() && Array.isArray(v.items)) return v;
    } catch (e) { /* a damaged list is replaced */ }
    // A new day starts empty: yesterday's list is wiped, not kept.
    localStorage.removeItem(TODAY);
    return { day: localDay(), items: [] };
  }
  function noteToday(no, status) {
    var v = readToday();
    var item = v.items.filter(function (i) { return i.no === no; })[0];
    if (item) item.status = status;
    else v.items.unshift({ no: no, status: status });
    localStorage.setItem(TODAY, JSON.stringify({ day: v.day, items: v.items.map(function (i) { return { no: i.no, status: i.status }; }) }));
    renderToday();
  }
  function readQueue() {
    try { var q = JSON.parse(localStorage.getItem(QUEUE) || '[]'); return Array.isArray(q) ? q : []; } catch (e) { return []; }
  }
  function writeQueue(q) {
    localStorage.setItem(QUEUE, JSON.stringify(q.map(function (e) { return e.by ? { no: e.no, type: e.type, by: e.by } : { no: e.no, type: e.type }; })));
    renderToday();
  }
  function owner() { return localStorage.getItem(OWNER) || undefined; }
  /** The queued events this device may send now: its courier's own (never another's under this credential). */
  function mine(q) { var o = owner(); return q.filter(function (e) { return !e.by || e.by === o; }); }
  /** A courier pairs (or is learnt): another courier's list of the day is not theirs to see. */
  function adopt(courierId) {
    var before = owner();
    if (before === courierId) return;
    localStorage.setItem(OWNER, courierId);
    if (before) localStorage.removeItem(TODAY);
    renderToday();
  }
  function renderToday() {
    var list = $('todayList');
    kit.clear(list);
    readToday().items.forEach(function (i) {
      var li = el('li');
      li.appendChild(el('span', i.no, 'no'));
      li.appendChild(el('span', t('st_' + i.status), 'badge st-' + i.status));
      list.appendChild(li);
    });
    var n = mine(readQueue()).length;
    $('pending').textContent = n ? t('queued', { n: n }) : '';
    $('pending').hidden = !n;
  }

  // ---- refusals as messages ----
  function explain(err) {
    if (err.offline) return t('offline');
    var b = err.body || {};
    switch (err.status) {
      case 401: return t('e401');
      case 403: return t('e403', { detail: b.detail || '' });
      case 404: return t('e404');
      case 410: return t('e410');
      case 429: return t('e429', { s: err.retryAfter || 60 });
      case 409: return t('e409', { status: b.currentStatus ? t('st_' + b.currentStatus) : (b.detail || '') });
      default: return kit.problemLines(err.status, err.body, t('failed')).join(' · ');
    }
  }
  function call(path, method, body) {
    var p = body === undefined ? kit.api(path, { method: method || 'GET' }, credential()) : kit.json(path, method, body, credential());
    return p.catch(function (err) {
      if (err.status === 401) unpaired();
      throw err;
    });
  }

  // ---- pairing ----
  function pairFromFragment() {
    var m = /[#&]pair=([A-Za-z0-9-]{8,12})/.exec(location.hash);
    // The code never stays in the address bar or the history.
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    return m ? m[1] : '';
  }
  function pair(ev) {
    ev.preventDefault();
    var code = $('code').value.trim();
    var name = $('device').value.trim();
    kit.json('/v1/courier-devices', 'POST', { code: code, name: name }).then(function (res) { return res.json(); }).then(function (answer) {
      localStorage.setItem(CREDENTIAL, answer.credential);
      adopt(answer.courier.id);
      $('code').value = '';
      say(t('paired', { device: answer.device.name }), 'ok');
      start();
    }).catch(function (err) {
      say(err.status === 401 || err.status === 400 || err.status === 422 ? t('pairRefused') : explain(err), 'error');
    });
  }
  function unpaired() {
    localStorage.removeItem(CREDENTIAL);
    stopCamera();
    clearParcel();
    showOnly('pair');
    say(t('e401'), 'error');
  }

  // ---- views ----
  function showOnly(view) {
    ['pair', 'purpose', 'scan', 'parcel', 'today'].forEach(function (id) { show(id, false); });
    if (view === 'pair') show('pair', true);
    if (view === 'purpose') { show('purpose', true); show('today', true); }
    if (view === 'scan') { show('scan', true); show('today', true); $('purposeShown').textContent = t(sessionStorage.getItem(PURPOSE)); focusWedge(); }
    if (view === 'parcel') { show('parcel', true); show('today', true); }
  }
  function focusWedge() { setTimeout(function () { if (!$('scan').hidden) $('wedgeInput').focus(); }, 0); }
  function start() {
    if (!credential()) { showOnly('pair'); return; }
    renderToday();
    call('/v1/courier-devices/current').then(function (r) { return r.json(); }).then(function (me) {
      adopt(me.courier.id);
      $('who').textContent = me.courier.carrier + ' · ' + me.courier.outlet + (me.device ? ' · ' + me.device.name : '');
    }).catch(function (err) { if (!err.offline && err.status !== 401) say(explain(err), 'error'); });
    flush();
    showOnly(sessionStorage.getItem(PURPOSE) ? 'scan' : 'purpose');
  }

  // ---- scanning ----
  /** The token of a scanned text: the label's QR URL (…/w/<token>) or the bare token. */
  function tokenOf(text) {
    var m = /(?:\/w\/)?(1[A-Za-z0-9_-]{22})\s*$/.exec(String(text).trim());
    return m ? m[1] : undefined;
  }
  function scanned(text) {
    var token = tokenOf(text);
    if (!token) { say(t('notAQr'), 'error'); return; }
    stopCamera();
    say('');
    var purpose = sessionStorage.getItem(PURPOSE);
    call('/v1/scan/' + encodeURIComponent(token) + '?purpose=' + encodeURIComponent(purpose)).then(function (r) { return r.json(); }).then(function (answer) {
      showParcel(answer);
      noteToday(answer.waybillNo, answer.status);
    }).catch(function (err) { say(explain(err), 'error'); focusWedge(); });
  }
  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { say(t('cameraNone'), 'error'); return; }
    navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then(function (s) {
      stream = s;
      var video = $('video');
      video.srcObject = s;
      show('viewfinder', true);
      say(t('scanning'));
      return video.play().then(decoder).then(function (decode) { tick(decode); });
    }).catch(function () { stopCamera(); say(t('cameraNone'), 'error'); });
  }
  /** The browser's own BarcodeDetector where it reads QR codes; otherwise the bundled jsQR, loaded on first use. */
  function decoder() {
    var native = 'BarcodeDetector' in window ? window.BarcodeDetector.getSupportedFormats().catch(function () { return []; }) : Promise.resolve([]);
    return native.then(function (formats) {
      if (formats.indexOf('qr_code') >= 0) {
        detector = detector || new window.BarcodeDetector({ formats: ['qr_code'] });
        return function (video) { return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : undefined; }); };
      }
      return loadJsQr().then(function () {
        var canvas = document.createElement('canvas');
        var ctx = canvas.getContext('2d', { willReadFrequently: true });
        return function (video) {
          var w = video.videoWidth, h = video.videoHeight;
          if (!w || !h) return Promise.resolve(undefined);
          canvas.width = w;
          canvas.height = h;
          ctx.drawImage(video, 0, 0, w, h);
          var found = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: 'attemptBoth' });
          return Promise.resolve(found ? found.data : undefined);
        };
      });
    });
  }
  function loadJsQr() {
    if (window.jsQR) return Promise.resolve();
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = 'vendor/jsQR.js';
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }
  function tick(decode) {
    if (!stream) return;
    decode($('video')).then(function (text) {
      if (!stream) return;
      if (text && tokenOf(text)) scanned(text);
      else scanLoop = setTimeout(function () { tick(decode); }, 120);
    }, function () { scanLoop = setTimeout(function () { tick(decode); }, 250); });
  }
  function stopCamera() {
    clearTimeout(scanLoop);
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    $('video').srcObject = null;
    show('viewfinder', false);
  }

  // ---- the parcel: shown, never stored ----
  function addressText(a) {
    if (a.country && a.country !== 'CN') return [a.line1, a.line2, a.city, a.region, a.postalCode, a.country].filter(Boolean).join(', ');
    return [a.province, a.city, a.district, a.street, a.detail].filter(function (p, i, all) { return p && all.indexOf(p) === i; }).join(' ');
  }
  function telUri(dial) {
    // A comma is the dialler's pause: the relay answers, then the extension is sent as tones.
    return 'tel:' + dial.number.replace(/[^+\d]/g, '') + (dial.extension ? ',' + dial.extension.replace(/\D/g, '') : '');
  }
  function fillParty(prefix, party) {
    $(prefix + 'Name').textContent = party.name;
    $(prefix + 'Address').textContent = addressText(party.address);
    $(prefix + 'Phone').textContent = party.phone;
    $(prefix + 'Call').href = telUri(party.dial);
  }
  function showParcel(answer) {
    shown = answer;
    $('pNo').textContent = answer.waybillNo;
    $('pStatus').textContent = t('st_' + answer.status);
    fillParty('p', answer.recipient);
    show('pSender', !!answer.sender);
    if (answer.sender) fillParty('s', answer.sender);
    var facts = $('pFacts');
    kit.clear(facts);
    var fact = function (k, v) { if (v === undefined || v === null || v === '') return; facts.appendChild(el('dt', t(k))); facts.appendChild(el('dd', v)); };
    var p = answer.parcel || {};
    fact('weight', p.weightKg !== undefined ? p.weightKg + ' ' + t('kg') : undefined);
    fact('pieces', p.pieces);
    fact('contents', p.contents);
    fact('routing', answer.routingCode);
    fact('validUntil', new Date(answer.validUntil).toLocaleString(i18n.get() === 'zh' ? 'zh-CN' : 'en'));
    var actions = $('pActions');
    kit.clear(actions);
    var type = EVENT_OF[answer.purpose];
    if (type) {
      var b = el('button', t(type), 'primary');
      b.type = 'button';
      b.id = 'act';
      b.addEventListener('click', function () { b.disabled = true; postEvent(answer.waybillNo, type); });
      actions.appendChild(b);
    }
    showOnly('parcel');
    clearTimeout(idleTimer);
    idleTimer = setTimeout(clearParcel, PARCEL_IDLE_MS);
  }
  function clearParcel() {
    clearTimeout(idleTimer);
    shown = null;
    ['pNo', 'pStatus', 'pName', 'pAddress', 'pPhone', 'sName', 'sAddress', 'sPhone'].forEach(function (id) { $(id).textContent = ''; });
    $('pCall').href = '#';
    $('sCall').href = '#';
    kit.clear($('pFacts'));
    kit.clear($('pActions'));
    if (!$('parcel').hidden && credential()) showOnly(sessionStorage.getItem(PURPOSE) ? 'scan' : 'purpose');
  }

  // ---- lifecycle events, online or queued ----
  function postEvent(no, type) {
    send(no, type).then(function () {
      say(t('eventDone', { no: no, event: t(type) }), 'ok');
      clearParcel();
    }, function (err) {
      if (err.offline) {
        writeQueue(readQueue().concat([{ no: no, type: type, by: owner() }]));
        noteToday(no, 'queued');
        say(t('eventQueued', { no: no, event: t(type) }), 'warn');
        clearParcel();
      } else {
        say(explain(err), 'error');
        var b = $('act');
        if (b) b.disabled = false;
      }
    });
  }
  /**
   * Posts one event; a 409 saying the waybill already is where the event leads counts as sent (a retry
   * after a lost answer). Each of the app's events is named after the status it leads to.
   */
  function send(no, type) {
    return call('/v1/waybills/' + encodeURIComponent(no) + '/events', 'POST', { type: type }).then(function () {
      noteToday(no, type);
    }, function (err) {
      if (err.status === 409 && err.body && err.body.currentStatus === type) { noteToday(no, type); return; }
      throw err;
    });
  }
  var flushing = false;
  function flush() {
    var q = mine(readQueue());
    if (flushing || !q.length || !credential()) return;
    flushing = true;
    var next = q[0];
    var without = function () { var all = readQueue(), i = all.findIndex(function (e) { return e.no === next.no && e.type === next.type && e.by === next.by; }); if (i >= 0) all.splice(i, 1); return all; };
    send(next.no, next.type).then(function () {
      writeQueue(without());
      flushing = false;
      if (!mine(readQueue()).length) say(t('sentAll'), 'ok');
      flush();
    }, function (err) {
      // Try again later: offline, busy, or the credential refused for now (the events are the courier's,
      // kept for when it is paired again or reinstated, never dropped for that).
      if (err.offline || err.status === 429 || err.status >= 500 || err.status === 401) { flushing = false; updateNet(); return; }
      // A 403 is the event's own refusal (custody) only while the courier itself may act: a suspended
      // courier is refused everything, its device's own page too.
      var mayAct = err.status === 403 ? call('/v1/courier-devices/current').then(function () { return true; }, function () { return false; }) : Promise.resolve(true);
      mayAct.then(function (yes) {
        flushing = false;
        if (!yes) { say(explain(err), 'error'); return; }
        // Refused for good (custody, state): dropped from the queue with the reason shown.
        writeQueue(without());
        noteToday(next.no, 'refused');
        say(next.no + ': ' + explain(err), 'error');
        flush();
      });
    });
  }
  function updateNet() {
    var offline = !navigator.onLine;
    $('net').textContent = offline ? t('offline') : '';
    $('net').hidden = !offline;
  }

  // ---- logout: unpair and wipe everything this origin keeps ----
  function logout() {
    var c = credential();
    var revoke = c ? kit.api('/v1/courier-devices/current', { method: 'DELETE' }, c).catch(function () { return null; }) : Promise.resolve();
    stopCamera();
    clearParcel();
    return revoke.then(wipe).then(function () {
      $('who').textContent = '';
      renderToday();
      showOnly('pair');
      say(t('loggedOut'), 'ok');
    });
  }
  function wipe() {
    var lang = i18n.get();
    localStorage.clear();
    sessionStorage.clear();
    localStorage.setItem('waybill.courier.lang', lang);
    var jobs = [];
    if (window.caches) jobs.push(caches.keys().then(function (keys) { return Promise.all(keys.map(function (k) { return caches.delete(k); })); }));
    if (window.indexedDB && indexedDB.databases) {
      jobs.push(indexedDB.databases().then(function (dbs) { dbs.forEach(function (d) { if (d.name) indexedDB.deleteDatabase(d.name); }); }));
    }
    if (navigator.serviceWorker) jobs.push(navigator.serviceWorker.getRegistrations().then(function (rs) { return Promise.all(rs.map(function (r) { return r.unregister(); })); }));
    return Promise.all(jobs.map(function (j) { return j.catch(function () { return null; }); }));
  }

  document.addEventListener('DOMContentLoaded', function () {
    i18n.apply();
    $('lang').value = i18n.get();
    $('lang').addEventListener('change', function () { i18n.set($('lang').value); renderToday(); if (shown) showParcel(shown); else if (!$('scan').hidden) showOnly('scan'); });
    var code = pairFromFragment();
    $('code').value = code;
    $('device').value = /Android/i.test(navigator.userAgent) ? 'Android' : /iPhone|iPad/i.test(navigator.userAgent) ? 'iPhone' : 'Handheld';
    $('pair').addEventListener('submit', pair);
    $('purpose').addEventListener('submit', function (ev) { ev.preventDefault(); });
    Array.prototype.forEach.call($('purpose').querySelectorAll('button'), function (b) {
      b.addEventListener('click', function () {
        sessionStorage.setItem(PURPOSE, b.value);
        showOnly('scan');
      });
    });
    $('changePurpose').addEventListener('click', function () { sessionStorage.removeItem(PURPOSE); stopCamera(); showOnly('purpose'); });
    $('wedge').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var text = $('wedgeInput').value;
      $('wedgeInput').value = '';
      scanned(text);
    });
    $('camera').addEventListener('click', startCamera);
    $('stopCamera').addEventListener('click', function () { stopCamera(); say(''); });
    $('next').addEventListener('click', function () { clearParcel(); say(''); });
    $('logout').addEventListener('click', logout);
    window.addEventListener('online', function () { updateNet(); flush(); });
    window.addEventListener('offline', updateNet);
    // A phone put away, or the app switched: the address leaves the screen.
    document.addEventListener('visibilitychange', function () { if (document.hidden) { stopCamera(); clearParcel(); } });
    // The day's end wipes today's list even on a device left open overnight.
    setInterval(function () { flush(); renderToday(); }, 30000);
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('sw.js').catch(function () { /* the app works without it */ });
    updateNet();
    if (code && !credential()) showOnly('pair');
    else start();
  });
})();
