/*
 * pages.js: the login (account first, password or card), certificate management and
 * diagnostics pages. Everything here is progressive: without scripts the password form works.
 * The PIN is handed to hipki.js, which gives it to the local component only.
 */
(function () {
  'use strict';
  var data = document.body.dataset;
  var hipki = new window.HiPki(data.component);
  var base = '/schools/' + encodeURIComponent(data.school);

  function $(id) { return document.getElementById(id); }

  function post(path, fields) {
    return fetch(base + path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields)
    }).then(function (r) {
      return r.json().then(function (body) { return { status: r.status, body: body }; },
        function () { return { status: r.status, body: {} }; });
    });
  }

  /* The page's language comes first (the switch or ui_locales chose it), the other second. */
  var english = document.documentElement.lang === 'en';

  function say(el, ok, zh, en) {
    el.textContent = '';
    var first = document.createElement('span');
    first.textContent = english ? en : zh;
    var second = document.createElement('span');
    second.className = 'second';
    second.lang = english ? 'zh-Hant-TW' : 'en';
    second.textContent = english ? zh : en;
    el.appendChild(first);
    el.appendChild(document.createElement('br'));
    el.appendChild(second);
    el.className = ok ? 'ok' : 'error';
  }

  function fail(el, error) {
    say(el, false, error.zh || error.message_zh || '發生錯誤。', error.en || error.message_en || 'Something went wrong.');
  }

  /* ---- login: account first, then the methods the account may use ---- */
  function loginPage() {
    var challenge = null;
    /* Card only: the registered certificate names the account (no username sent). */
    var cardOnly = false;
    var username = $('username');
    var status = $('card-status');
    $('password-section').hidden = true;
    $('next').hidden = false;

    function newChallenge() {
      return post('/login/card/challenge', { req: data.req, csrf: data.csrf }).then(function (r) {
        challenge = r.status === 200 ? r.body.challenge : null;
        if (!challenge) { fail(status, r.body); }
      });
    }

    function next() {
      if (!username.value) { username.focus(); return; }
      post('/login/methods', { req: data.req, csrf: data.csrf, username: username.value }).then(function (r) {
        if (r.status !== 200) { fail(status, r.body); return; }
        $('next').hidden = true;
        $('card-only').hidden = true;
        /* A started login (step-up, or a role that needs both) asks only for what is missing. */
        var password = r.body.password && data.step !== 'card';
        $('password-section').hidden = !password;
        $('password').required = password;
        var card = data.step === 'password' ? 'disabled' : r.body.certificate;
        $('card-section').hidden = card === 'disabled';
        $('card-available').hidden = card !== 'offered';
        $('card-unavailable').hidden = card !== 'not_registered';
        if (card === 'offered') { newChallenge(); }
        /* The password first when it is offered (the field before the card's), else the PIN. */
        if (password) { $('password').focus(); } else if (card === 'offered') { $('pin').focus(); }
      });
    }

    $('next').addEventListener('click', next);
    if (data.step) { username.readOnly = true; next(); }
    else { $('card-only').hidden = false; }
    $('card-only').addEventListener('click', function () {
      cardOnly = true;
      username.value = '';
      username.disabled = true;
      ['next', 'card-only', 'password-section', 'card-unavailable'].forEach(function (id) { $(id).hidden = true; });
      $('card-section').hidden = false;
      $('card-available').hidden = false;
      newChallenge();
      $('pin').focus();
    });
    username.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !$('next').hidden) { e.preventDefault(); next(); }
    });
    $('card-login').addEventListener('click', function () {
      if (!challenge) { newChallenge(); return; }
      var pin = $('pin');
      var used = challenge;
      challenge = null;
      say(status, true, '請稍候，正在與讀卡機溝通…', 'Talking to the card reader…');
      hipki.sign(used, pin.value).then(function (signed) {
        pin.value = '';
        return post('/login/card', {
          req: data.req, csrf: data.csrf, username: cardOnly ? '' : username.value, challenge: used,
          signature: signed.signature, certb64: signed.certb64 || ''
        }).then(function (r) {
          if (r.status === 200 && r.body.redirect) { window.location.assign(r.body.redirect); return; }
          if (r.status === 200 && r.body.next === 'password') {
            $('card-section').hidden = true;
            $('password-section').hidden = false;
            $('password').required = true;
            var notice = $('notice') || status;
            say(notice, true, r.body.message_zh, r.body.message_en);
            $('password').focus();
            return;
          }
          fail(status, r.body);
          newChallenge();
        });
      }, function (error) {
        pin.value = '';
        fail(status, error);
        newChallenge();
      });
    });
  }

  /* ---- 自然人憑證管理: register and remove ---- */
  function accountPage() {
    var challenge = null;
    var status = $('card-status');
    function newChallenge() {
      return post('/account/card/challenge', { csrf: data.csrf }).then(function (r) {
        challenge = r.status === 200 ? r.body.challenge : null;
        if (!challenge) { fail(status, r.body); }
      });
    }
    newChallenge();
    $('register').addEventListener('click', function () {
      if (!challenge) { newChallenge(); return; }
      var used = challenge;
      challenge = null;
      var pin = $('pin');
      say(status, true, '請稍候，正在與讀卡機溝通…', 'Talking to the card reader…');
      hipki.sign(used, pin.value).then(function (signed) {
        pin.value = '';
        return post('/account/card', { csrf: data.csrf, challenge: used, signature: signed.signature, certb64: signed.certb64 || '', enrollment_code: $('enrollment-code').value })
          .then(function (r) {
            if (r.status === 201) {
              say(status, true, '自然人憑證註冊成功！下次可直接以自然人憑證登入校務系統。',
                'Your citizen certificate is registered. Next time you can log in with the card.');
              window.setTimeout(function () { window.location.reload(); }, 1500);
              return;
            }
            fail(status, r.body);
            newChallenge();
          });
      }, function (error) {
        pin.value = '';
        fail(status, error);
        newChallenge();
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll('button.remove'), function (button) {
      button.addEventListener('click', function () {
        post('/account/cards/' + button.dataset.id + '/remove', { csrf: data.csrf }).then(function () { window.location.reload(); });
      });
    });
  }

  /* ---- 環境檢測 ---- */
  var STEP_NAMES = {
    component: ['跨平台網頁元件', 'Web component (HiPKI)'],
    reader: ['讀卡機', 'Card reader'],
    card: ['卡片', 'Card'],
    token: ['卡片辨識', 'Card recognised'],
    certificate: ['簽章憑證', 'Signing certificate'],
    server: ['憑證狀態（效期、廢止）', 'Certificate status (validity, revocation)']
  };

  function diagnosticsPage() {
    var list = $('steps');
    var result = $('result');
    function addStep(id, ok, extra) {
      var li = document.createElement('li');
      li.dataset.step = id;
      li.dataset.ok = ok ? 'true' : 'false';
      var names = english ? [STEP_NAMES[id][1], STEP_NAMES[id][0]] : STEP_NAMES[id];
      li.textContent = (ok ? '✔ ' : '✘ ') + names[0] + ' ' + names[1] + (extra || '');
      li.className = ok ? 'ok' : 'error';
      list.appendChild(li);
    }
    $('diagnose').addEventListener('click', function () {
      list.textContent = '';
      result.textContent = '';
      hipki.diagnose().then(function (report) {
        report.steps.forEach(function (s) {
          var version = s.id === 'component' && report.version
            ? (english ? ' (version ' : '（版本 ') + report.version + (english ? ')' : '）') : '';
          addStep(s.id, s.ok, version);
        });
        var component = list.querySelector('li[data-step="component"]');
        if (component && report.version) { component.dataset.version = report.version; }
        if (report.failure) { fail(result, report.failure); return; }
        return post('/diagnostics/check', { csrf: data.csrf, certb64: report.certb64 }).then(function (r) {
          addStep('server', r.body.valid === true);
          if (r.body.valid) { say(result, true, r.body.message_zh, r.body.message_en); } else { fail(result, r.body); }
          result.dataset.code = r.body.error || 'ok';
        });
      });
    });
  }

  if (data.page === 'login') { loginPage(); }
  if (data.page === 'account') { accountPage(); }
  if (data.page === 'diagnostics') { diagnosticsPage(); }
})();
