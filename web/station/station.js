'use strict';
// /station: a parcel station's counter. The station key is entered once per tab (sessionStorage only,
// removed on logout or a 401). Arrival: the parcel's QR code scanned (a keyboard-wedge scanner types its
// text and Enter; proof the parcel is at the counter), or its number where the service allows that, gives
// the pickup code to write on the parcel. Hand-over: the code or number and the four
// digits the buyer says give match / no match and nothing else; a match allows `delivered`. The API
// tells a station no name, phone or address, and this page shows none: numbers, codes and verdicts only.
(function () {
  var KEY = 'waybill.station.key';
  var LANG = 'waybill.station.lang';
  var PICKUP_CODE = /^[1-9][0-9]?-[1-9]-[0-9]{4}$/;
  var WAYBILL_NO = /^[A-Z0-9]{6,30}$/;
  var T = {
    en: {
      title: 'Parcel station counter', logout: 'Log out', key: 'API key (station)', enter: 'Enter',
      keyHint: 'Kept in this tab only, until you log out or close it.', checking: 'Checking the key…',
      arrivalTitle: 'Arrival', waybillNo: 'Scan the QR code on the parcel', shelf: 'Shelf', tier: 'Tier', default1: '1',
      arrive: 'Record arrival', writeCode: 'Pickup code — write it on the parcel:', arrivedNew: 'Waybill {no}: arrived at {time}.',
      arrivedAgain: 'Waybill {no} was already here (since {time}): its code is unchanged.',
      handoverTitle: 'Hand-over', ref: 'Pickup code or waybill number', digits: 'Last 4 digits of the buyer’s phone (ask the buyer)',
      check: 'Verify', match: 'Match', noMatch: 'No match',
      deliverNo: 'Waybill number of the parcel handed over (check it on the parcel, or scan it)', handover: 'Hand over (delivered)',
      delivered: 'Handed over: waybill {no} is delivered.',
      badNo: 'Scan the QR code on the parcel (or enter a waybill number: 6–30 capital letters or digits).', badRef: 'Enter a pickup code (like 3-2-0147) or a waybill number.',
      badDigits: 'Enter exactly 4 digits.', badShelf: 'Shelf is 1–99 and tier 1–9 (or leave them empty).',
      refused: 'The key was refused (mistyped, revoked or expired): you are logged out. Enter a station key.',
      notStation: 'This key may not act for a station (another role, or suspended): you are logged out. Enter a station key.',
      suspended: 'This station is suspended after too many wrong digits in an hour; an operator must reinstate it. You are logged out.',
      forbiddenArrival: 'Scan the QR code on the parcel: this service records arrivals by it, not by the waybill number.',
      forbiddenDeliver: 'Hand-over refused: there was no recent match for this parcel here. Verify the buyer’s digits again first.',
      unknown: 'Unknown waybill number.', notHeld: 'This station does not hold that parcel.',
      conflictArrival: 'This parcel cannot arrive here: it is not in a courier’s hands, or it is at a station already.',
      conflictDeliver: 'This parcel cannot be handed over in its state (already delivered or returned?).',
      gone: 'This waybill is past its life: its data is gone.',
      limited: 'Too many requests: try again in {s} seconds.', limitedSoon: 'Too many requests: try again shortly.',
      offline: 'No connection to the service: nothing was recorded. Try again.', failed: 'The request failed'
    },
    zh: {
      title: '驿站柜台', logout: '退出', key: 'API 密钥（驿站）', enter: '进入',
      keyHint: '仅保存在本标签页，退出或关闭即清除。', checking: '正在核对密钥…',
      arrivalTitle: '入库', waybillNo: '扫描包裹上的二维码', shelf: '货架', tier: '层', default1: '1',
      arrive: '登记入库', writeCode: '取件码——请写在包裹上：', arrivedNew: '运单 {no}：{time} 入库。',
      arrivedAgain: '运单 {no} 已在本站（{time} 入库）：取件码不变。',
      handoverTitle: '取件', ref: '取件码或运单号', digits: '收件人手机号后 4 位（请顾客报出）',
      check: '核验', match: '匹配', noMatch: '不匹配',
      deliverNo: '交付包裹的运单号（请与包裹核对，或扫描）', handover: '交付（已签收）',
      delivered: '已交付：运单 {no} 已签收。',
      badNo: '请扫描包裹上的二维码（或输入运单号：6–30 位大写字母或数字）。', badRef: '请输入取件码（如 3-2-0147）或运单号。',
      badDigits: '请输入 4 位数字。', badShelf: '货架为 1–99，层为 1–9（或留空）。',
      refused: '密钥被拒绝（输错、已吊销或已过期）：已退出。请输入驿站密钥。',
      notStation: '此密钥不能用于驿站（其他角色或已停用）：已退出。请输入驿站密钥。',
      suspended: '本驿站一小时内核验错误过多，已被停用，需由运营人员恢复。已退出。',
      forbiddenArrival: '请扫描包裹上的二维码：本服务按二维码登记入库，不按运单号。',
      forbiddenDeliver: '交付被拒绝：本站近期没有此包裹的匹配记录。请先重新核验手机号后 4 位。',
      unknown: '运单号不存在。', notHeld: '本站没有此包裹。',
      conflictArrival: '此包裹不能在本站入库：它不在快递员手中，或已在其他驿站。',
      conflictDeliver: '此包裹当前状态不能交付（已签收或已退回？）。',
      gone: '此运单已过保存期，数据已删除。',
      limited: '请求过于频繁：请 {s} 秒后再试。', limitedSoon: '请求过于频繁：请稍后再试。',
      offline: '无法连接服务：未作任何登记。请重试。', failed: '请求失败'
    }
  };
  var $ = kit.$;
  var el = kit.el;
  // A preference, not personal data: kept across tabs. The key is not: sessionStorage only.
  var i18n = kit.i18n(T, localStorage, LANG);
  var t = i18n.t;
  // Pickup codes this tab issued → their waybill numbers, so a hand-over by code knows the number to post
  // `delivered` for. Memory only: gone with the page, and a code from elsewhere is checked on the parcel.
  var issued = {};

  function key() { return sessionStorage.getItem(KEY); }

  function showErrors(lines) {
    var list = $('errors');
    kit.clear(list);
    lines.forEach(function (l) { list.appendChild(el('li', l)); });
    list.hidden = lines.length === 0;
  }
  function status(text) { $('status').textContent = text || ''; }

  function clearWork() {
    issued = {};
    ['arrivalNo', 'shelf', 'tier', 'ref', 'digits', 'deliverNo'].forEach(function (id) { $(id).value = ''; });
    $('pickupCode').textContent = '';
    $('pickupFor').textContent = '';
    $('pickup').hidden = true;
    clearVerdict();
    showErrors([]);
    status('');
  }
  function clearVerdict() {
    var v = $('verdict');
    v.textContent = '';
    v.removeAttribute('data-t');
    v.className = '';
    v.hidden = true;
    $('deliver').hidden = true;
    $('done').textContent = '';
    $('done').hidden = true;
  }

  function showLoggedIn(yes) {
    $('login').hidden = yes;
    $('work').hidden = !yes;
    $('logout').hidden = !yes;
    if (yes) $('arrivalNo').focus();
    else $('key').focus();
  }
  function logout(message) {
    sessionStorage.removeItem(KEY);
    $('key').value = '';
    $('who').textContent = '';
    clearWork();
    showLoggedIn(false);
    if (message) showErrors([message]);
  }

  /**
   * A refusal as lines to show. 401 logs out; the statuses a station meets get their own sentence (`what`
   * tells which action, for 403/404/409); anything else is the problem's own title and field paths.
   */
  function explain(e, what) {
    if (e.offline) return [t('offline')];
    switch (e.status) {
      case 401: logout(t('refused')); return null;
      case 403:
        if (/\/suspended$/.test((e.body && e.body.type) || '')) { logout(t('suspended')); return null; }
        if (what === 'deliver') return [t('forbiddenDeliver')];
        if (what === 'arrival') return [t('forbiddenArrival')];
        logout(t('notStation')); return null;
      case 404: if (what === 'login') break; return [what === 'deliver' ? t('notHeld') : t('unknown')];
      case 409: if (what === 'login') break; return [what === 'deliver' ? t('conflictDeliver') : t('conflictArrival')];
      case 410: return [t('gone')];
      case 429: return [e.retryAfter ? t('limited', { s: e.retryAfter }) : t('limitedSoon')];
    }
    return kit.problemLines(e.status, e.body, t('failed'));
  }
  function fail(what) {
    return function (e) {
      status('');
      var lines = explain(e, what);
      if (lines) showErrors(lines);
    };
  }

  /** What a scanner or a hand typed, as the API spells a waybill number (scanners may send spaces or lower case). */
  function waybillNo(text) { return text.replace(/\s+/g, '').toUpperCase(); }
  function localTime(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? iso : d.toLocaleString(i18n.get() === 'zh' ? 'zh-CN' : 'en-GB');
  }

  // Who this key is: checks it and shows the station it acts for.
  function checkKey() {
    status(t('checking'));
    return kit.api('/v1/stations/current', {}, key()).then(function (res) { return res.json(); }).then(function (me) {
      status('');
      $('who').textContent = me.station;
      showLoggedIn(true);
    }, function (e) {
      // 401 and 403 log out with their message in explain(); anything else (offline, 429) keeps no key either.
      var lines = explain(e, 'login');
      if (lines) { logout(); showErrors(lines); }
    });
  }

  function shelfBody() {
    var body = {};
    var shelf = $('shelf').value.trim();
    var tier = $('tier').value.trim();
    if (shelf) body.shelf = Number(shelf);
    if (tier) body.tier = Number(tier);
    var ok = (!shelf || (/^[0-9]+$/.test(shelf) && body.shelf >= 1 && body.shelf <= 99)) && (!tier || (/^[0-9]$/.test(tier) && body.tier >= 1));
    return ok ? body : null;
  }

  /**
   * What the arrival field holds: the QR code's text (the scan URL, or a token: it has lower-case letters)
   * or a waybill number (capitals and digits, as printed under the barcode).
   */
  function arrivalRequest(raw) {
    var body = shelfBody();
    if (!body) return { error: t('badShelf') };
    var no = waybillNo(raw);
    if (raw.indexOf('/w/') < 0 && raw === raw.toUpperCase() && WAYBILL_NO.test(no))
      return { path: '/v1/waybills/' + encodeURIComponent(no) + '/arrivals', body: body };
    if (!raw || /\s/.test(raw.trim()) || raw.length > 512) return { error: t('badNo') };
    body.code = raw.trim();
    return { path: '/v1/stations/arrivals', body: body };
  }

  function arrive(ev) {
    ev.preventDefault();
    showErrors([]);
    var req = arrivalRequest($('arrivalNo').value.trim());
    if (req.error) { showErrors([req.error]); return; }
    $('pickup').hidden = true;
    kit.json(req.path, 'POST', req.body, key()).then(function (res) {
      var again = res.status === 200;
      return res.json().then(function (a) {
        issued[a.pickupCode] = a.waybillNo;
        $('pickupCode').textContent = a.pickupCode;
        $('pickupFor').textContent = t(again ? 'arrivedAgain' : 'arrivedNew', { no: a.waybillNo, time: localTime(a.arrivedAt) });
        $('pickup').hidden = false;
        // Ready for the next scan: the field cleared and focused; the shelf and tier stay for the next parcel.
        $('arrivalNo').value = '';
        $('arrivalNo').focus();
      });
    }).catch(fail('arrival'));
  }

  function verify(ev) {
    ev.preventDefault();
    showErrors([]);
    clearVerdict();
    var raw = $('ref').value.trim();
    var digits = $('digits').value.trim();
    // The digits never stay in the field, whatever the outcome.
    $('digits').value = '';
    var req = PICKUP_CODE.test(raw) ? { pickupCode: raw } : WAYBILL_NO.test(waybillNo(raw)) ? { waybillNo: waybillNo(raw) } : null;
    if (!req) { showErrors([t('badRef')]); return; }
    if (!/^[0-9]{4}$/.test(digits)) { showErrors([t('badDigits')]); $('digits').focus(); return; }
    req.phoneLast4 = digits;
    kit.json('/v1/stations/verify', 'POST', req, key()).then(function (res) { return res.json(); }).then(function (a) {
      var v = $('verdict');
      // Only ever one of two words; data-t lets a language switch translate it in place.
      v.setAttribute('data-t', a.match === true ? 'match' : 'noMatch');
      v.textContent = t(v.getAttribute('data-t'));
      v.className = a.match === true ? 'verdict match' : 'verdict no-match';
      v.hidden = false;
      if (a.match === true) {
        $('deliverNo').value = req.waybillNo || issued[req.pickupCode] || '';
        $('deliver').hidden = false;
        $('deliverNo').focus();
      } else $('digits').focus();
    }).catch(fail('verify'));
  }

  function deliver(ev) {
    ev.preventDefault();
    showErrors([]);
    var no = waybillNo($('deliverNo').value);
    if (!WAYBILL_NO.test(no)) { showErrors([t('badNo')]); return; }
    kit.json('/v1/waybills/' + encodeURIComponent(no) + '/events', 'POST', { type: 'delivered' }, key()).then(function () {
      $('deliver').hidden = true;
      $('deliverNo').value = '';
      $('ref').value = '';
      $('done').textContent = t('delivered', { no: no });
      $('done').hidden = false;
      $('ref').focus();
    }).catch(fail('deliver'));
  }

  document.addEventListener('DOMContentLoaded', function () {
    i18n.apply();
    $('lang').value = i18n.get();
    $('lang').addEventListener('change', function () { i18n.set($('lang').value); });
    $('logout').addEventListener('click', function () { logout(); });
    $('login').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var k = $('key').value.trim();
      $('key').value = '';
      if (!k) return;
      showErrors([]);
      sessionStorage.setItem(KEY, k);
      checkKey();
    });
    $('arrival').addEventListener('submit', arrive);
    $('verify').addEventListener('submit', verify);
    $('deliver').addEventListener('submit', deliver);
    if (key()) checkKey();
    else showLoggedIn(false);
  });
})();
