#!/usr/bin/env python3
"""Issue 19's password lifecycle and sessions attacked on a release build on loopback
(docs/ABUSE.md, "Issue 19: attack round").

The same harness as scripts/abuse-issue17.py (its Server, Browser and helpers are loaded from
it): each case starts `gpki-idp serve --demo` on a fresh data directory (SQLite and in-process
state unless --redis / --postgres say otherwise), sends what the attacker sends, prints what
the victim saw and how storage grew, and stops the server. Bounded: a few thousand requests
and about two minutes per case at most.

  scripts/abuse-issue19.py --binary $CARGO_TARGET_DIR/release/gpki-idp CASE [CASE …]
      [--redis redis://127.0.0.1:6379/] [--postgres postgres://postgres@127.0.0.1:5432]

Run it under the build lock so that no compilation shares the cores.
"""

import argparse
import base64
import http.server
import importlib.util
import json
import os
import re
import secrets
import statistics
import subprocess
import threading
import time
import urllib.parse

_spec = importlib.util.spec_from_file_location(
    "abuse17", os.path.join(os.path.dirname(os.path.abspath(__file__)), "abuse-issue17.py"))
a17 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(a17)

Server, Browser, parallel, counts, mb = a17.Server, a17.Browser, a17.parallel, a17.counts, a17.mb
csrf_browser, admin_token, id_token_of, logged_in = (a17.csrf_browser, a17.admin_token,
                                                     a17.id_token_of, a17.logged_in)
SCHOOL, CLIENT, CLIENT_SECRET, PASSWORD, REDIRECT = (a17.SCHOOL, a17.CLIENT, a17.CLIENT_SECRET,
                                                     a17.PASSWORD, a17.REDIRECT)


def strong():
    """A new password every policy takes."""
    return "Kx7-" + secrets.token_urlsafe(12)


def admin(s, token, method, path, body=None):
    st, _, data = Browser(s).send(method, f"/admin/v1{path}",
                                  json.dumps(body) if body is not None else None,
                                  headers={"Authorization": f"Bearer {token}",
                                           "Content-Type": "application/json"})
    try:
        return st, json.loads(data or b"null")
    except ValueError:
        return st, data.decode()[:80]


def reset_form(b, username, code, new=None):
    new = new or strong()
    return b.send("POST", f"/schools/{SCHOOL}/password-reset", {
        "csrf": b.cookies["gpki_csrf"], "username": username, "code": code,
        "new_password": new, "new_password_again": new})


def sql(s, query):
    """One number from the case's database."""
    if s.database:
        cmd = ["psql", s.args.postgres + "/" + s.database, "-Atc", query]
    else:
        cmd = ["sqlite3", os.path.join(s.data, "gpki-idp.sqlite"), query]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()


def made_up_code():
    return "-".join(secrets.token_hex(2).upper() for _ in range(3))


# ---- the cases ---------------------------------------------------------------------------

def reset_flood(args):
    """Class 1: wrong reset codes for made-up accounts on 忘記密碼, from the school's NAT
    address (in its campus ranges), and from one address off campus. No argon2 runs before a
    code is right, so nothing slows the sender but the throttle."""
    s = Server(args, campus="10.1.0.0/16")
    try:
        rows = []
        for label, xff, n in (("campus 10.1.0.1", "10.1.0.1", 3000),
                              ("off campus 198.51.100.9", "198.51.100.9", 1000)):
            b = csrf_browser(s, xff)
            rows0, size0 = s.audit_table()
            log0 = s.log_bytes
            t0 = time.monotonic()

            def one(i):
                c = Browser(s, xff)
                c.cookies = dict(b.cookies)
                return reset_form(c, f"nobody{i:05d}", made_up_code(), "x")[0]
            answers = parallel(n, one)
            took = time.monotonic() - t0
            rows1, size1 = s.audit_table()
            rows.append(f"{label}: {n} in {took:.1f} s → {counts(answers)}; audit "
                        f"+{rows1 - rows0} rows (+{mb(size1 - size0)}), "
                        f"{(rows1 - rows0) / took:.0f} events/s, log +{mb(s.log_bytes - log0)}")
        print("| reset_flood: wrong codes for made-up accounts | " + "; ".join(rows) + " |")
    finally:
        s.close()


def reset_race(args):
    """Class 4: the teacher's one reset code used 16 times at once with 16 new passwords."""
    s = Server(args)
    try:
        token = admin_token(s)
        st, issued = admin(s, token, "POST", f"/schools/{SCHOOL}/users/teacher/reset-code")
        code = issued["code"]
        news = [strong() for _ in range(16)]
        b = csrf_browser(s)
        barrier = threading.Barrier(16)

        def one(i):
            c = Browser(s, f"198.51.100.{i + 1}")
            c.cookies = dict(b.cookies)
            barrier.wait()
            st, _, body = reset_form(c, "teacher", code, news[i])
            return st
        answers = parallel(16, one, threads=16)
        works = [i for i, pw in enumerate(news)
                 if Browser(s, f"203.0.113.{i + 1}").password("teacher", pw)[1]]
        again = reset_form(b, "teacher", code)[0]
        print(f"| reset_race: one code, 16 uses at once | issue {st}; {counts(answers)}; "
              f"new passwords that log in after: {len(works)}; the code again: {again} |")
    finally:
        s.close()


def reset_enum(args):
    """Class 8: 忘記密碼 for an account with a live code (a wrong code typed), an account
    without one, and an unknown account; each from its own address, 60 each, interleaved."""
    s = Server(args)
    try:
        token = admin_token(s)
        admin(s, token, "POST", f"/schools/{SCHOOL}/users/teacher/reset-code")
        b = csrf_browser(s)
        names = ("teacher", "staff", "nobody")
        seen = {n: [] for n in names}
        for i in range(60):
            for j, n in enumerate(names):
                c = Browser(s, f"203.0.113.{(i * 3 + j) % 250 + 1}")
                c.xff = f"2001:db8:{i}:{j}::1"
                c.cookies = dict(b.cookies)
                t0 = time.monotonic()
                st, h, body = reset_form(c, n, made_up_code())
                body = body.decode().replace(n, "")
                seen[n].append((st, len(body), time.monotonic() - t0))
        rows = [f"`{n}` {counts(x[0] for x in v)}, {sorted({x[1] for x in v})} bytes, "
                f"median {statistics.median(x[2] for x in v) * 1000:.2f} ms"
                for n, v in seen.items()]
        print("| reset_enum: wrong code, 60 each from new addresses | " + "; ".join(rows) + " |")
    finally:
        s.close()


def temporary_login(s, token, b, username="teacher"):
    """The GM sets a temporary password; `b` logs in with it: (req, csrf) of the change step."""
    temp = strong()
    st, _ = admin(s, token, "PATCH", f"/schools/{SCHOOL}/users/{username}",
                  {"password": temp})
    _, req, csrf = b.login_page()
    st, h, _ = b.send("POST", f"/schools/{SCHOOL}/login", {
        "req": req, "csrf": csrf, "username": username, "password": temp})
    loc = h.get("location", "")
    assert "/login/password" in loc, (st, loc)
    req = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)["req"][0]
    return temp, req, csrf


def change_step(args):
    """Classes 1, 2 and 4: at the change step (the browser proved a temporary password), the
    new password sent again and again — the temporary one itself (each costs an argon2
    check of the history) — then two tabs finishing it at once."""
    s = Server(args)
    try:
        token = admin_token(s)
        b = Browser(s)
        temp, req, csrf = temporary_login(s, token, b)
        rows0, size0 = s.audit_table()
        n = 300
        t0 = time.monotonic()

        def one(i):
            c = Browser(s)
            c.cookies = dict(b.cookies)
            return c.send("POST", f"/schools/{SCHOOL}/login/password", {
                "req": req, "csrf": csrf, "new_password": temp,
                "new_password_again": temp})[0]
        answers = parallel(n, one, threads=8)
        took = time.monotonic() - t0
        rows1, size1 = s.audit_table()
        print(f"| change_step: {n} reused passwords at one change step | {took:.1f} s, "
              f"{n / took:.0f}/s; {counts(answers)}; audit +{rows1 - rows0} rows "
              f"(+{mb(size1 - size0)}) |")
        # Tabs of one browser finish the step at once with different passwords (a new login:
        # the one above may have used its tries).
        b = Browser(s)
        temp, req, csrf = temporary_login(s, token, b)
        news = [strong() for _ in range(8)]
        barrier = threading.Barrier(8)

        def tab(i):
            c = Browser(s)
            c.cookies = dict(b.cookies)
            barrier.wait()
            st, h, _ = c.send("POST", f"/schools/{SCHOOL}/login/password", {
                "req": req, "csrf": csrf, "new_password": news[i],
                "new_password_again": news[i]})
            return "code" if "code=" in h.get("location", "") else st
        changed0 = int(sql(s, "SELECT count(*) FROM audit_events WHERE event = "
                              "'user.password_changed' AND outcome = 'success'"))
        hist0 = int(sql(s, "SELECT count(*) FROM password_history"))
        answers = parallel(8, tab, threads=8)
        works = [i for i, pw in enumerate(news)
                 if Browser(s, f"198.51.100.{i + 1}").password("teacher", pw)[1]]
        hist = int(sql(s, "SELECT count(*) FROM password_history"))
        changed = int(sql(s, "SELECT count(*) FROM audit_events WHERE event = "
                             "'user.password_changed' AND outcome = 'success'"))
        winner = [i for i, a in enumerate(answers) if a == "code"]
        print(f"| change_step: 8 tabs finish at once | {counts(answers)}; passwords that log "
              f"in after: {len(works)} (the tab that got the code: {winner == works}); "
              f"password_history +{hist - hist0} rows; `user.password_changed` success "
              f"+{changed - changed0} |")
    finally:
        s.close()


def own_change_csrf(args):
    """Class 9: the account page's new forms without the CSRF value (another site's POST
    carries the Lax session cookie only for a top-level POST — it does not; sent here anyway
    with the session to show the form's own check)."""
    s = Server(args)
    try:
        b = Browser(s)
        assert b.password("teacher", PASSWORD)[1]
        rows = []
        evil = Browser(s)
        evil.cookies = {"gpki_session": b.cookies["gpki_session"]}
        new = strong()
        for path, body in ((f"/schools/{SCHOOL}/account/password",
                            {"current_password": PASSWORD, "new_password": new,
                             "new_password_again": new}),
                           (f"/schools/{SCHOOL}/account/sessions/end-all", {}),
                           (f"/schools/{SCHOOL}/password-reset",
                            {"username": "teacher", "code": "AAAA-BBBB-CCCC",
                             "new_password": new, "new_password_again": new})):
            st, _, _ = evil.send("POST", path, dict(body, csrf="x" * 32))
            rows.append(f"POST {path.split(SCHOOL)[1]} without the CSRF cookie: {st}")
            st, _, _ = evil.send("GET", path)
            rows.append(f"GET: {st}")
        # The GM's 資安選項設定 forms, with the GM's session and no CSRF cookie.
        gm = Browser(s, "198.51.100.50")
        assert gm.password("gm", PASSWORD)[1]
        evil_gm = Browser(s)
        evil_gm.cookies = {"gpki_session": gm.cookies["gpki_session"]}
        for path, body in (("/admin/security/reset-code", {"username": "teacher"}),
                           ("/admin/security/passwords", {"min_length": "4"})):
            st, _, page = evil_gm.send("POST", f"/schools/{SCHOOL}{path}",
                                       dict(body, csrf="x" * 32))
            rows.append(f"GM POST {path} without the CSRF cookie: {st}"
                        + (" (a code on the page!)" if re.search(rb"[A-Z2-9]{4}-[A-Z2-9]{4}-",
                                                                 page) else ""))
        rows.append(f"still logged in: {logged_in(b)}; old password works: "
                    f"{Browser(s).password('teacher', PASSWORD)[1]}")
        print("| own_change_csrf | " + "; ".join(rows) + " |")
    finally:
        s.close()


class Portal:
    """A portal's back-channel endpoint on loopback: answers after `delay` seconds (or
    never, for `delay` None: the connection is held until the case ends)."""

    def __init__(self, delay=0.0):
        self.hits = []
        self.hold = threading.Event()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.hits.append((time.monotonic(), self.path, self.rfile.read(n)))
                if delay is None:
                    outer.hold.wait(60)
                else:
                    time.sleep(delay)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.hold.set()
        self.server.shutdown()


def set_backchannel(s, token, uri):
    st, client = admin(s, token, "GET", f"/schools/{SCHOOL}/clients/{CLIENT}")
    client = {k: v for k, v in client.items()
              if k not in ("created_at", "has_secret", "secret", "etag")}
    client["backchannel_logout_uri"] = uri
    return admin(s, token, "PUT", f"/schools/{SCHOOL}/clients/{CLIENT}", client)


def code_login(s, b, username="teacher"):
    """A login of `b` at the portal and the code exchanged (the client joins the session)."""
    _, req, csrf = b.login_page()
    st, h, _ = b.send("POST", f"/schools/{SCHOOL}/login", {
        "req": req, "csrf": csrf, "username": username, "password": PASSWORD})
    if "code=" not in h.get("location", ""):
        return f"login {st}"
    code = urllib.parse.parse_qs(urllib.parse.urlparse(h["location"]).query)["code"][0]
    auth = "Basic " + base64.b64encode(f"{CLIENT}:{CLIENT_SECRET}".encode()).decode()
    return Browser(s).send("POST", f"/schools/{SCHOOL}/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": auth})[0]


def sessions_end_all(args):
    """Class 1: a teacher (or a phisher with the password) logs in 300 times, each a session
    the portal got a token in; then one 登出所有裝置. The queue and audit grow by one row per
    session; the portal hangs. And the logout page with a portal that never answers."""
    s = Server(args)
    portal = Portal(delay=None)
    try:
        token = admin_token(s)
        st, _ = set_backchannel(s, token, f"http://127.0.0.1:{portal.port}/bcl")
        n = 300
        t0 = time.monotonic()
        logins = parallel(n, lambda i: code_login(s, Browser(s)), threads=8)
        took = time.monotonic() - t0
        b = Browser(s)
        code_login(s, b)
        rows0, size0 = s.audit_table()
        st, _, body = b.send("GET", f"/schools/{SCHOOL}/account")
        csrf = re.search(r'name="csrf" value="([^"]*)"', body.decode())
        lst, _, listed = b.send("GET", f"/schools/{SCHOOL}/account/sessions")
        t1 = time.monotonic()
        est, _, _ = b.send("POST", f"/schools/{SCHOOL}/account/sessions/end-all",
                           {"csrf": csrf.group(1) if csrf else b.cookies.get("gpki_csrf", "")})
        ended = time.monotonic() - t1
        rows1, size1 = s.audit_table()
        queued = sql(s, "SELECT count(*) FROM logout_messages")
        clients = sql(s, "SELECT count(*) FROM session_clients")
        if not s.database:
            tables = int(sql(s, "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'session%'"))
            clients += f", sessions and session_clients tables {mb(tables)}"
        live = sql(s, "SELECT count(*) FROM sessions WHERE NOT revoked")
        print(f"| sessions_end_all: {n} logins in {took:.1f} s ({counts(logins)}), then "
              f"登出所有裝置, portal hangs | setting the uri {st}; session list {lst} "
              f"{len(listed)} bytes; end-all {est} in {ended * 1000:.0f} ms; logout queue "
              f"{queued} rows (session_clients {clients}); audit +{rows1 - rows0} rows (+{mb(size1 - size0)}); live "
              f"sessions after {live}; portal calls so far {len(portal.hits)} |")
        # The logout page, the portal still hanging.
        c = Browser(s)
        code_login(s, c)
        hint = id_token_of(s, "teacher")["id_token"]
        t1 = time.monotonic()
        lst, _, _ = c.send("GET", f"/schools/{SCHOOL}/logout?id_token_hint={hint}")
        print(f"| logout page, portal hangs | {lst} in {(time.monotonic() - t1) * 1000:.0f} ms |")
    finally:
        portal.close()
        s.close()


def backchannel_ssrf(args):
    """SSRF: what a GM may set as a portal's backchannel_logout_uri, and what our sender then
    posts to (an address inside the district's network, loopback)."""
    s = Server(args)
    inside = Portal()
    try:
        token = admin_token(s)
        rows = []
        for uri in ("https://169.254.169.254/latest/meta-data/", "https://10.0.0.5:8443/x",
                    "https://[::1]/x", f"http://127.0.0.1:{inside.port}/internal/admin",
                    f"http://localhost:{inside.port}/internal", "http://10.0.0.5/x",
                    "file:///etc/passwd"):
            st, _ = set_backchannel(s, token, uri)
            rows.append(f"`{uri}` → {st}")
        set_backchannel(s, token, f"http://127.0.0.1:{inside.port}/internal/admin")
        b = Browser(s)
        code_login(s, b)
        hint = id_token_of(s, "teacher")["id_token"]
        b.send("GET", f"/schools/{SCHOOL}/logout?id_token_hint={hint}")
        for _ in range(50):
            if inside.hits:
                break
            time.sleep(0.2)
        rows.append(f"posts to the loopback listener after one logout: {len(inside.hits)} "
                    f"({inside.hits[0][1] if inside.hits else '-'})")
        time.sleep(1)
        st, audit = admin(s, token, "GET", f"/schools/{SCHOOL}/audit?limit=50")
        seen = json.dumps(audit, ensure_ascii=False)
        rows.append(f"the GM's audit log shows `logout.token_sent` for it: "
                    f"{'logout.token_sent' in seen and '/internal/admin' in seen}")
        print("| backchannel_ssrf: GM sets the uri | " + "; ".join(rows) + " |")
    finally:
        inside.close()
        s.close()


def other_school(args):
    """Class 10: the demo GM's token at another school's new admin routes, a demo reset code
    at the other school's 忘記密碼."""
    s = Server(args)
    try:
        def run(*a):
            return subprocess.run([args.binary, "admin", a[0], "--config", s.config,
                                   "--data-dir", s.data, *a[1:]], capture_output=True)
        run("create-school", "--code", "other", "--name", "Other School")
        run("create-admin", "--school", "other", "--username", "teacher", "--name", "王小明老師")
        token = admin_token(s)
        rows = []
        for method, path, body in (
                ("PUT", "/schools/other/password-policy", {"min_length": 4}),
                ("POST", "/schools/other/users/teacher/reset-code", None),
                ("GET", "/schools/other/sessions", None),
                ("DELETE", "/schools/other/sessions/x", None)):
            st, out = admin(s, token, method, path, body)
            rows.append(f"{method} {path}: {st} {str(out)[:30]}")
        st, issued = admin(s, token, "POST", f"/schools/{SCHOOL}/users/teacher/reset-code")
        b = csrf_browser(s)
        new = strong()
        st, _, body = b.send("POST", "/schools/other/password-reset", {
            "csrf": b.cookies["gpki_csrf"], "username": "teacher", "code": issued["code"],
            "new_password": new, "new_password_again": new})
        rows.append(f"demo's code at other's 忘記密碼: {st}")
        print("| other_school (issue 19 routes) | " + "; ".join(rows) + " |")
    finally:
        s.close()


def reset_lockout(args):
    """Class 5: a pupil behind the school's NAT address types 40 wrong codes for `teacher`;
    then the teacher, at the NAT address, types the code the GM handed over: on a new browser,
    and on the browser the teacher logs in with (device cookie)."""
    s = Server(args, campus="10.1.0.0/16")
    try:
        nat = "10.1.0.1"
        own = Browser(s, nat)
        assert own.password("teacher", PASSWORD)[1]
        token = admin_token(s)
        pupil = csrf_browser(s, nat)
        t0 = time.monotonic()
        answers = [reset_form(pupil, "teacher", made_up_code(), "x")[0] for _ in range(40)]
        took = time.monotonic() - t0
        rows = [f"pupil: 40 wrong codes for `teacher` in {took:.1f} s → {counts(answers)}"]
        for label, b in (("teacher, new browser at the NAT", csrf_browser(s, nat)),
                         ("teacher, own browser at the NAT", own)):
            code = admin(s, token, "POST", f"/schools/{SCHOOL}/users/teacher/reset-code")[1]
            if "gpki_csrf" not in b.cookies:
                b.send("GET", f"/schools/{SCHOOL}/password-reset")
            st, h, body = reset_form(b, "teacher", code["code"])
            rows.append(f"{label}: {st}"
                        + (f" (Retry-After {h.get('retry-after')})" if st == 429 else ""))
        print("| reset_lockout | " + "; ".join(rows) + " |")
    finally:
        s.close()


def own_change_race(args):
    """Class 4: the school has a minimum password age (a day) and a history of 3; a teacher
    sends 8 changes of their own password at once on the account page (8 tabs)."""
    s = Server(args)
    try:
        token = admin_token(s)
        st, policy = admin(s, token, "GET", f"/schools/{SCHOOL}/password-policy")
        body = {"min_age_days": 1, "history": 3}
        pst, out = admin(s, token, "PUT", f"/schools/{SCHOOL}/password-policy", body)
        # The teacher's password is two days old (written into the database directly).
        sql(s, "UPDATE users SET password_changed_at = password_changed_at - 172800 "
               "WHERE username = 'teacher'")
        b = Browser(s)
        assert b.password("teacher", PASSWORD)[1]
        html = b.send("GET", f"/schools/{SCHOOL}/account")[2].decode()
        csrf = re.search(r'name="csrf" value="([^"]*)"', html).group(1)
        news = [strong() for _ in range(8)]
        h0 = int(sql(s, "SELECT count(*) FROM password_history"))
        barrier = threading.Barrier(8)

        def tab(i):
            c = Browser(s)
            c.cookies = dict(b.cookies)
            barrier.wait()
            _, h, _ = c.send("POST", f"/schools/{SCHOOL}/account/password", {
                "csrf": csrf, "current_password": PASSWORD, "new_password": news[i],
                "new_password_again": news[i]})
            return h.get("location", "").split("password=")[-1]
        answers = parallel(8, tab, threads=8)
        hist = int(sql(s, "SELECT count(*) FROM password_history")) - h0
        print(f"| own_change_race: min age 1 day, 8 changes at once | policy PUT {pst} "
              f"{str(out)[:60]}; {counts(answers)}; password_history +{hist} rows |")
    finally:
        s.close()


def own_change_strength(args):
    """Class 7: a phisher's password-only session on the account page sets a new password
    without the present one (only a card session may), or guesses it there."""
    s = Server(args)
    try:
        b = Browser(s)
        assert b.password("teacher", PASSWORD)[1]
        html = b.send("GET", f"/schools/{SCHOOL}/account")[2].decode()
        csrf = re.search(r'name="csrf" value="([^"]*)"', html).group(1)
        rows = []
        for label, current in (("no present password", ""), ("a wrong one", "guess-1")):
            new = strong()
            _, h, _ = b.send("POST", f"/schools/{SCHOOL}/account/password", {
                "csrf": csrf, "current_password": current, "new_password": new,
                "new_password_again": new})
            rows.append(f"{label}: {h.get('location', '').split('password=')[-1]}")
        guesses = []
        for i in range(8):
            new = strong()
            _, h, _ = b.send("POST", f"/schools/{SCHOOL}/account/password", {
                "csrf": csrf, "current_password": f"guess-{i}", "new_password": new,
                "new_password_again": new})
            guesses.append(h.get("location", "").split("password=")[-1])
        rows.append(f"8 more guesses: {counts(guesses)}")
        rows.append(f"the old password still logs in: "
                    f"{Browser(s, '198.51.100.77').password('teacher', PASSWORD)[1]}")
        print("| own_change_strength: password-only session | " + "; ".join(rows) + " |")
    finally:
        s.close()


CASES = {"reset_flood": reset_flood, "reset_race": reset_race, "reset_enum": reset_enum,
         "change_step": change_step, "own_change_csrf": own_change_csrf,
         "sessions_end_all": sessions_end_all, "backchannel_ssrf": backchannel_ssrf,
         "other_school": other_school, "reset_lockout": reset_lockout,
         "own_change_race": own_change_race, "own_change_strength": own_change_strength}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--redis")
    p.add_argument("--postgres")
    p.add_argument("cases", nargs="+", choices=sorted(CASES))
    a = p.parse_args()
    for case in a.cases:
        t0 = time.monotonic()
        CASES[case](a)
        print(f"<!-- {case}: {time.monotonic() - t0:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
