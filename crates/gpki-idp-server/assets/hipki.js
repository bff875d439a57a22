/*
 * hipki.js: talks to the HiPKI local signing service (跨平台網頁元件) on the user's computer.
 *
 * The component sends no CORS headers, so pages cannot fetch it. Instead (as every public
 * sample does): on a click, open COMPONENT/popupForm; the popup posts {"func":"getTbs"} to us;
 * we answer with the request JSON, posted to the component's origin only (it carries the PIN);
 * the popup runs it and posts the response back. Messages from any other origin are ignored.
 *
 * The PIN goes to the component on this computer and nowhere else.
 */
(function (global) {
  'use strict';

  var TWO_32 = 4294967296;

  /* Every ret_code / last_error of GPKI-FACTS.md, with the remedy from the seed manual. */
  var MESSAGES = {
    ok: ['完成。', 'Done.'],
    component_not_running: [
      '偵測不到跨平台網頁元件（HiPKI Local Server）。請安裝 HiCOS Client／跨平台網頁元件並確認已啟動，再重新整理本頁。',
      'The HiPKI local signing service does not answer. Install HiCOS Client / the cross-platform web component, make sure it is running, then reload this page.'],
    popup_blocked: [
      '瀏覽器擋下了元件視窗。請允許本網站開啟彈出式視窗後再試一次。',
      'The browser blocked the component window. Allow pop-ups for this site and try again.'],
    component_timeout: [
      '跨平台網頁元件沒有回應，請關閉元件視窗後再試一次。',
      'The component did not answer. Close its window and try again.'],
    library_load_failed: [
      '無法載入卡片元件（HiCOS PKCS#11）。請安裝或重新安裝 HiCOS Client 卡片管理工具，並依指示重新啟動電腦。',
      'The card middleware (HiCOS PKCS#11) cannot be loaded. Install or reinstall HiCOS Client and restart the computer as it asks.'],
    no_reader: [
      '找不到可用的讀卡機。請確認讀卡機已接上電腦，並於「電腦管理 → 裝置管理員 → 智慧卡讀卡機」確認有卡機型號；若製造廠商或位置顯示「未知」，請至讀卡機廠商網站下載並安裝驅動程式。',
      'No usable card reader. Check that the reader is plugged in and listed under Device Manager → Smart card readers; if its maker or location shows "unknown", install the driver from the reader maker\'s website.'],
    reader_info_failed: [
      '無法讀取讀卡機資訊。請確認「Smart Card」服務已啟動（電腦管理 → 服務與應用程式 → 服務 → Smart Card → 啟動）。',
      'Cannot read the card reader. Make sure the "Smart Card" service is started (Computer Management → Services → Smart Card → Start).'],
    no_card: [
      '讀卡機中沒有卡片。請將自然人憑證插入讀卡機。',
      'No card in the reader. Insert the citizen certificate card.'],
    unknown_token: [
      '無法辨識讀卡機中的卡片（未知的卡片）：卡片可能插反了，請將晶片朝正確方向重新插入；若方向正確仍無法讀取，請用橡皮擦輕輕擦拭晶片後再試。',
      'The card in the reader is not recognised (unknown card): it may be inserted the wrong way round. Reinsert it chip first; if it still fails, gently clean the chip with an eraser.'],
    card_error: [
      '卡片讀取失敗。請重新插入卡片；若仍失敗，請用橡皮擦輕輕擦拭晶片後再試。',
      'The card could not be read. Reinsert it; if it still fails, gently clean the chip with an eraser.'],
    wrong_pin: ['PIN 碼錯誤，請重新輸入。', 'Wrong PIN. Please enter it again.'],
    wrong_pin_2_left: ['PIN 碼錯誤，還可以再試 2 次。', 'Wrong PIN: 2 tries left.'],
    wrong_pin_1_left: [
      'PIN 碼錯誤，只剩最後 1 次機會；再錯一次卡片將被鎖住。',
      'Wrong PIN: 1 try left. One more mistake locks the card.'],
    pin_length: ['PIN 碼長度不正確（6 到 8 碼）。', 'The PIN has the wrong length (6 to 8 digits).'],
    pin_locked: [
      'PIN 碼已被鎖住。請攜帶自然人憑證及身分證至戶政事務所辦理解鎖。',
      'The PIN is locked. Take the card and your ID card to a household registration office to unlock it.'],
    pin_missing: ['請輸入 PIN 碼。', 'Please enter the PIN.'],
    cancelled: ['您已取消操作。', 'You cancelled.'],
    cert_not_found: [
      '卡片中找不到簽章憑證。請確認插入的是自然人憑證。',
      'No signing certificate on the card. Make sure it is a citizen certificate card.'],
    untrusted_site: [
      '跨平台網頁元件尚未信任本網站。請依元件視窗的提示將本網站加入信任清單，再試一次。',
      'The component does not trust this site yet. Follow its prompt to add this site to its trusted sites, then try again.'],
    forbidden_domain: ['跨平台網頁元件拒絕本網站的要求。', 'The component refused this site.'],
    component_error: [
      '跨平台網頁元件回報錯誤，請更新至最新版本後再試。',
      'The component reported an error. Update it to the latest version and try again.'],
    signing_failed: ['卡片簽章失敗，請再試一次。', 'The card could not sign. Please try again.'],
    cert_not_yet_valid: ['憑證尚未生效，請確認電腦的日期時間。', 'The certificate is not valid yet. Check the computer\'s date and time.'],
    cert_expired: [
      '憑證已過期，請至戶政事務所辦理自然人憑證展期或重新申請。',
      'The certificate has expired. Renew it at a household registration office.'],
    unknown_error: ['發生未預期的錯誤（代碼 {code}）。', 'Unexpected error (code {code}).']
  };

  function unsigned(n) {
    n = Number(n) || 0;
    return n < 0 ? n + TWO_32 : n;
  }

  /* The stable code for a component response. */
  function codeOf(response) {
    var ret = unsigned(response.ret_code);
    var last = unsigned(response.last_error);
    if (ret === 0) { return 'ok'; }
    if (ret === 0x76100006) {
      if (last === 0xA0) { return 'wrong_pin'; }
      if (last === 0x80000002) { return 'wrong_pin_2_left'; }
      if (last === 0x80000001) { return 'wrong_pin_1_left'; }
      if (last === 0xA2) { return 'pin_length'; }
      if (last === 0xA4) { return 'pin_locked'; }
      return 'card_error';
    }
    var table = {
      0x76000006: 'no_card', 0x76100003: 'no_reader', 0x76100004: 'reader_info_failed',
      0x76100001: 'library_load_failed', 0x76100009: 'cert_not_found', 0x7610000C: 'cert_not_found',
      0x7610000D: 'cert_not_found', 0x76000998: 'pin_missing', 0x76000999: 'cancelled',
      0x7600000B: 'component_error', 0x7600000C: 'component_error', 0x7600000D: 'component_timeout',
      0x7600000E: 'component_error', 0x7600000F: 'forbidden_domain', 0x76000031: 'untrusted_site',
      0x76500001: 'cert_not_yet_valid', 0x76500002: 'cert_expired'
    };
    if (table[ret]) { return table[ret]; }
    if (ret >= 0x76300000 && ret <= 0x763000FF) { return 'signing_failed'; }
    return 'unknown_error';
  }

  function explain(code, raw) {
    var m = MESSAGES[code] || MESSAGES.unknown_error;
    var hex = '0x' + unsigned(raw || 0).toString(16);
    return { code: code, zh: m[0].replace('{code}', hex), en: m[1].replace('{code}', hex) };
  }

  function HiPki(origin, options) {
    this.origin = origin || 'http://localhost:61161';
    options = options || {};
    this.detectMs = options.detectMs || 3500;     // no getTbs by then: not running
    this.answerMs = options.answerMs || 180000;   // the user is typing a PIN in the component
  }

  /* Runs one request through the popup. Call it from a click handler (popups need a gesture).
     Resolves with the component's response object, or rejects with {code, zh, en}. */
  HiPki.prototype.call = function (request) {
    var origin = this.origin, detectMs = this.detectMs, answerMs = this.answerMs;
    return new Promise(function (resolve, reject) {
      var popup = global.open(origin + '/popupForm', 'hipki', 'height=200,width=200,left=100,top=20');
      if (!popup) { reject(explain('popup_blocked')); return; }
      var timer;
      function finish(fn, value) {
        global.clearTimeout(timer);
        global.removeEventListener('message', onMessage);
        fn(value);
      }
      function fail(code) {
        try { popup.close(); } catch (e) { /* already closed */ }
        finish(reject, explain(code));
      }
      function onMessage(event) {
        if (event.origin !== origin || event.source !== popup) { return; }
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        if (data && data.func === 'getTbs') {
          global.clearTimeout(timer);
          timer = global.setTimeout(function () { fail('component_timeout'); }, answerMs);
          popup.postMessage(JSON.stringify(request), origin);
          return;
        }
        finish(resolve, data);
      }
      global.addEventListener('message', onMessage);
      timer = global.setTimeout(function () { fail('component_not_running'); }, detectMs);
    });
  };

  /* MakeSignature over the server's challenge: PKCS7, SHA256, challenge as tbs and nonce. */
  HiPki.prototype.sign = function (challenge, pin) {
    return this.call({
      func: 'MakeSignature', signatureType: 'PKCS7', tbs: challenge, tbsEncoding: 'NONE',
      hashAlgorithm: 'SHA256', withCardSN: 'true', pin: pin, nonce: challenge
    }).then(function (response) {
      var code = codeOf(response);
      if (code !== 'ok') { throw explain(code, response.ret_code); }
      return { signature: response.signature, certb64: response.certb64, cardSN: response.cardSN };
    });
  };

  /* Environment check (環境檢測), in the seed's order: component → reader → card → card
     recognised → signing certificate. Resolves with {steps, failure?, version, certb64}. */
  HiPki.prototype.diagnose = function () {
    var steps = [];
    function step(id, ok) { steps.push({ id: id, ok: ok }); }
    return this.call({ func: 'GetUserCert' }).then(function (info) {
      step('component', true);
      var code = codeOf(info);
      var result = { steps: steps, version: info.serverVersion || null };
      if (code === 'library_load_failed') { steps[0].ok = false; result.failure = explain(code); return result; }
      if (code === 'no_reader' || code === 'reader_info_failed') { step('reader', false); result.failure = explain(code); return result; }
      step('reader', true);
      var slots = (info.slots || []).filter(function (s) { return s && s.token; });
      if (code === 'no_card' || slots.length === 0) { step('card', false); result.failure = explain('no_card'); return result; }
      step('card', true);
      if (code !== 'ok') { result.failure = explain(code, info.ret_code); return result; }
      var token = slots[0].token;
      if (typeof token === 'string') { step('token', false); result.failure = explain('unknown_token'); return result; }
      step('token', true);
      var signing = (token.certs || []).filter(function (c) { return c.usage === 'digitalSignature' && c.certb64; })[0];
      if (!signing) { step('certificate', false); result.failure = explain('cert_not_found'); return result; }
      step('certificate', true);
      result.certb64 = signing.certb64;
      return result;
    }, function (error) {
      step('component', false);
      return { steps: steps, failure: error, version: null };
    });
  };

  HiPki.codeOf = codeOf;
  HiPki.explain = explain;
  HiPki.MESSAGES = MESSAGES;
  global.HiPki = HiPki;
})(window);
