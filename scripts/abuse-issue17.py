#!/usr/bin/env python3
"""Issue 17's attacks again, on a release build on loopback (docs/ABUSE.md, "Issue 17 after
the fixes"), plus the new ones of the second round ("Open").

Each case starts `gpki-idp serve --demo` on a fresh data directory (SQLite and in-process
state unless --redis / --postgres say otherwise; on Redis a fresh key prefix, on PostgreSQL a
fresh database made and dropped with psql), sends what the attacker of the issue sent, prints
what the victim saw and how storage and memory grew, and stops the server. Bounded: every
case sends at most a few thousand requests and runs in at most about two minutes.

  scripts/abuse-issue17.py --binary $CARGO_TARGET_DIR/release/gpki-idp CASE [CASE …]
      [--redis redis://127.0.0.1:6379/] [--postgres postgres://postgres@127.0.0.1:5432]

Cases: h1 h3 h4 h5 h6 h7 h9 h10 h11 h12 h15 (issue 17's numbers), lookups and challenges
(the second round: a pupil spending the per-address budgets of the school's NAT address).
Run it under the build lock so that no compilation shares the cores.
"""

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.parse

SCHOOL = "demo"
CLIENT = "demo-portal"
CLIENT_SECRET = "demo-portal-secret"
PASSWORD = "demo1234"
REDIRECT = "http://127.0.0.1:9000/callback"
PREFIX = f"gpki-abuse17-{os.getpid()}:"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    return total


class Server:
    """One `serve --demo` on loopback; its standard output (the log) is counted and kept."""

    def __init__(self, args, listen_host="127.0.0.1", campus=None, tweak="", card=False,
                 aia=None, replica_of=None):
        self.args = args
        self.data = tempfile.mkdtemp(prefix="gpki-abuse17-")
        self.port = free_port()
        self.listen_host = listen_host
        self.config = os.path.join(self.data, "abuse.toml")
        self.database = None
        self.replica = replica_of is not None
        if replica_of:
            # A second replica: the first one's configuration (its database and Redis prefix).
            shutil.copy(replica_of.config, self.config)
            self.database = replica_of.database
            self.log_bytes, self.log_lines, self.proc = 0, [], None
            self.start()
            return
        with open(self.config, "w") as f:
            f.write('trusted_proxies = ["127.0.0.1"]\nlog_format = "json"\n')
            if args.redis:
                f.write(f'redis_url = "{args.redis}"\nredis_prefix = "{PREFIX}"\n')
            if args.postgres:
                self.database = f"gpki_abuse17_{os.getpid()}_{secrets.token_hex(3)}"
                subprocess.run(["psql", args.postgres + "/postgres", "-qc",
                                f"CREATE DATABASE {self.database}"], check=True)
                f.write(f'database_url = "{args.postgres}/{self.database}"\n')
            f.write(tweak)
            if card:
                # Certificate login on (as in a district): a trust anchor of our own making,
                # revocation off. No card is needed for what these cases send.
                anchor = os.path.join(self.data, "anchor.pem")
                subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                                "-keyout", os.path.join(self.data, "anchor.key"), "-out",
                                anchor, "-days", "30", "-subj", "/CN=abuse test anchor"],
                               check=True, capture_output=True)
                f.write(f'[certificate]\ntrust_anchors = ["{anchor}"]\n')
                if aia:
                    f.write(f'aia_allowed_prefixes = ["{aia}"]\n')
                f.write('[certificate.revocation]\nmode = "none"\n')
        self.log_bytes = 0
        self.log_lines = []
        self.proc = None
        if campus:
            # The demo school exists once the demo ran; then its campus ranges are set.
            self.start()
            self.stop()
            subprocess.run([args.binary, "admin", "set-registration", "--config", self.config,
                            "--data-dir", self.data, "--school", SCHOOL, "--campus", campus],
                           check=True, capture_output=True)
        self.start()

    def start(self):
        env = dict(os.environ, RUST_LOG="info")
        listen = (f"[{self.listen_host}]" if ":" in self.listen_host
                  else self.listen_host) + f":{self.port}"
        self.proc = subprocess.Popen(
            [self.args.binary, "serve", "--demo", "--config", self.config, "--data-dir",
             self.data, "--listen", listen],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        for line in self.proc.stdout:
            if line.startswith(b"gpki-idp listening on"):
                break
        self.log_bytes = 0
        self.log_lines = []

        def drain():
            for line in self.proc.stdout:
                self.log_bytes += len(line)
                if len(self.log_lines) < 20000:
                    self.log_lines.append(line[:4096])
        self.reader = threading.Thread(target=drain, daemon=True)
        self.reader.start()

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.reader.join(timeout=5)

    def close(self):
        self.stop()
        if self.replica:
            shutil.rmtree(self.data, ignore_errors=True)
            return
        if self.database:
            subprocess.run(["psql", self.args.postgres + "/postgres", "-qc",
                            f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)"])
        if self.args.redis:
            redis_usage(self.args.redis, delete=True)
        shutil.rmtree(self.data, ignore_errors=True)

    def rss_mib(self):
        return rss_kib(self.proc.pid) / 1024

    def storage_bytes(self):
        """The SQLite database file (its WAL aside: a write-ahead log of any size is reused,
        not grown, once checkpointed), or the PostgreSQL database's size."""
        if self.database:
            out = subprocess.run(["psql", self.args.postgres + "/" + self.database, "-Atc",
                                  "SELECT pg_database_size(current_database())"],
                                 capture_output=True, text=True, check=True)
            return int(out.stdout.strip())
        return os.path.getsize(os.path.join(self.data, "gpki-idp.sqlite"))

    def audit_table(self):
        """(rows, bytes) of the audit table with its indexes."""
        if self.database:
            out = subprocess.run(["psql", self.args.postgres + "/" + self.database, "-Atc",
                                  "SELECT count(*) || ' ' || pg_total_relation_size("
                                  "'audit_events') FROM audit_events"],
                                 capture_output=True, text=True, check=True)
        else:
            out = subprocess.run(["sqlite3", os.path.join(self.data, "gpki-idp.sqlite"),
                                  "SELECT (SELECT count(*) FROM audit_events) || ' ' || "
                                  "(SELECT sum(pgsize) FROM dbstat WHERE name LIKE "
                                  "'audit_events%')"],
                                 capture_output=True, text=True, check=True)
        rows, size = out.stdout.split()
        return int(rows), int(size)

    def audit_lines(self, event=None):
        found = []
        for raw in list(self.log_lines):
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            fields = line.get("fields", line)
            if fields.get("type") == "audit" and (event is None or fields.get("event") == event):
                found.append(fields)
        return found


def redis_usage(url, delete=False):
    cli = ["redis-cli", "-u", url]
    keys = subprocess.run(cli + ["--scan", "--pattern", PREFIX + "*"], capture_output=True,
                          text=True, check=True).stdout.split()
    size = 0
    if not delete:
        for k in keys:
            out = subprocess.run(cli + ["MEMORY", "USAGE", k], capture_output=True, text=True)
            size += int(out.stdout.strip() or 0)
    else:
        for i in range(0, len(keys), 500):
            subprocess.run(cli + ["DEL"] + keys[i:i + 500], capture_output=True)
    return len(keys), size


class Browser:
    """A browser: cookies kept, redirects not followed."""

    def __init__(self, server, xff=None, host="127.0.0.1"):
        self.server, self.xff, self.host = server, xff, host
        self.cookies = {}
        self.conn = None

    def send(self, method, path, body=None, headers=None, timeout=30):
        h = dict(headers or {})
        if self.xff:
            h["X-Forwarded-For"] = self.xff
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if isinstance(body, dict) or isinstance(body, list):
            body = urllib.parse.urlencode(body)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        for fresh in (self.conn is None, True):
            try:
                if fresh:
                    self.conn = http.client.HTTPConnection(self.host, self.server.port,
                                                           timeout=timeout)
                self.conn.request(method, path, body, h)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if fresh:
                    raise
        for k, v in r.getheaders():
            if k.lower() == "set-cookie":
                name, _, rest = v.partition("=")
                value = rest.split(";")[0]
                if value:
                    self.cookies[name] = value
                else:
                    self.cookies.pop(name, None)
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def login_page(self, extra=""):
        path = (f"/schools/{SCHOOL}/authorize?response_type=code&client_id={CLIENT}"
                f"&redirect_uri={urllib.parse.quote(REDIRECT, safe='')}&scope=openid"
                f"&state=st&prompt=login{extra}")
        status, _, html = self.send("GET", path)
        html = html.decode()
        req = re.search(r'name="req" value="([^"]*)"', html)
        csrf = re.search(r'name="csrf" value="([^"]*)"', html)
        if not (req and csrf):
            return status, None, None
        return status, req.group(1), csrf.group(1)

    def password(self, username, password):
        """(status, got a code) of a password login on a fresh login page."""
        status, req, csrf = self.login_page()
        if req is None:
            return status, False
        status, headers, _ = self.send("POST", f"/schools/{SCHOOL}/login", {
            "req": req, "csrf": csrf, "username": username, "password": password})
        return status, status == 302 and "code=" in headers.get("location", "")


def csrf_browser(server, xff=None):
    """A stranger's browser with a CSRF value of its own making (cookie and form alike)."""
    b = Browser(server, xff)
    b.cookies["gpki_csrf"] = secrets.token_urlsafe(24)
    return b


def parallel(n, fn, threads=32):
    """fn(i) for i in range(n) on `threads` threads; the answers in order."""
    out = [None] * n
    lock = threading.Lock()
    todo = iter(range(n))

    def work():
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            try:
                out[i] = fn(i)
            except Exception as e:  # noqa: BLE001 - an unanswered request is an answer here
                out[i] = ("error", str(e)[:80])

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return out


def counts(values):
    c = {}
    for v in values:
        c[v] = c.get(v, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(c.items(), key=str))


def mb(n):
    return f"{n / 1e6:.2f} MB"


# ---- the cases ---------------------------------------------------------------------------

def h1(args):
    """#1: 1,000 card logins with a 63,000-character account name and a made-up challenge,
    from one address and from 1,000 addresses; database and log growth."""
    for card, many in ((False, False), (True, False), (True, True)):
        s = Server(args, card=card)
        try:
            b = csrf_browser(s, "198.51.100.1")
            _, req, csrf = b.login_page()
            time.sleep(1.5)
            db0, log0, (rows0, aud0) = s.storage_bytes(), s.log_bytes, s.audit_table()
            huge = "n" * 63000

            def one(i):
                c = Browser(s, f"10.{i >> 8 & 255}.{i & 255}.7" if many else "198.51.100.1")
                c.cookies = dict(b.cookies)
                st, _, _ = c.send("POST", f"/schools/{SCHOOL}/login/card", {
                    "req": req, "csrf": csrf, "username": huge,
                    "challenge": "made-up-" + str(i), "signature": "AAAA", "certb64": ""})
                return st
            t0 = time.monotonic()
            statuses = parallel(1000, one, threads=16)
            took = time.monotonic() - t0
            time.sleep(2.5)  # the WAL checkpoint, the log drained
            db1, log1, (rows1, aud1) = s.storage_bytes(), s.log_bytes, s.audit_table()
            longest = max((len(str(e.get("actor", ""))) for e in s.audit_lines()), default=0)
            print(f"| #1 card login ({'certificate login on' if card else 'not configured'}), "
                  f"63,000-char name, 1,000 requests from "
                  f"{'1,000 addresses' if many else 'one address'} | {took:.1f} s | "
                  f"{counts(statuses)} | audit rows +{rows1 - rows0}, audit table "
                  f"+{mb(aud1 - aud0)}, database +{mb(db1 - db0)} | log +{mb(log1 - log0)} | "
                  f"longest actor logged {longest} chars |")
        finally:
            s.close()


def h3_h10(args):
    """#3 and #10: a forwarded hop with a port, and IPv4 clients of a dual-stack listener."""
    for host in ("127.0.0.1", "::"):
        s = Server(args, listen_host=host)
        try:
            seen = []
            for xff, label in (("203.0.113.66, 198.51.100.7:4711", "ip:port hop"),
                               ("203.0.113.66, [2001:db8::7]:4711", "[v6]:port hop"),
                               ("203.0.113.66, 198.51.100.7", "plain hop"),
                               ("203.0.113.66, not-an-address", "unparsable hop")):
                b = Browser(s, xff)
                before = len(s.audit_lines("login.password"))
                st, code = b.password("teacher", PASSWORD)
                time.sleep(0.3)
                events = s.audit_lines("login.password")[before:]
                seen.append(f"{label} `{xff}` → {events[-1].get('ip') if events else '?'}"
                            f" ({'code' if code else st})")
            print(f"| #3/#10 listener {host} (IPv4 client 127.0.0.1, trusted proxy "
                  f"127.0.0.1) | " + "; ".join(seen) + " |")
        finally:
            s.close()


def h4(args):
    """#4: a burst of 100 concurrent wrong passwords for one account from one address, the
    right password last; how many were checked (not 429) and whether the right one got a
    code."""
    s = Server(args)
    try:
        browsers = [Browser(s, "198.51.100.20") for _ in range(100)]
        forms = [b.login_page()[1:] for b in browsers]
        barrier = threading.Barrier(100)

        def one(i):
            req, csrf = forms[i]
            pw = PASSWORD if i == 99 else "wrong-guess"
            barrier.wait()
            st, h, _ = browsers[i].send("POST", f"/schools/{SCHOOL}/login", {
                "req": req, "csrf": csrf, "username": "teacher", "password": pw})
            return st, st == 302 and "code=" in h.get("location", "")
        answers = parallel(100, one, threads=100)
        checked = sum(1 for a in answers if a[0] != 429)
        print(f"| #4 burst of 100 ({'Redis' if args.redis else 'in-process'}"
              f"{', PostgreSQL' if args.postgres else ''}) | checked (not 429): {checked} of "
              f"100 | statuses {counts(a[0] for a in answers)} | right password got a code: "
              f"{answers[99][1]} |")
    finally:
        s.close()


def h5(args):
    """#5: an outsider keeps failing for a known teacher from many addresses; a pupil behind
    the school's NAT address (campus 10.1.0.0/16) fails for every account, and for the
    victims' own accounts. The victims try their right password 20 times over 60 s."""
    s = Server(args, campus="10.1.0.0/16")
    try:
        nat = "10.1.0.1"
        # The victims logged in once: their browsers carry a device cookie.
        own = {u: Browser(s, ip) for u, ip in
               (("teacher", "203.0.113.5"), ("staff", nat), ("gm", nat))}
        for u, b in own.items():
            assert b.password(u, PASSWORD)[1], u
        stop = threading.Event()
        sent = {"outsider": 0, "pupil": 0}

        def outsider():
            i = 0
            while not stop.is_set():
                Browser(s, f"198.51.100.{i % 200 + 1}").password("teacher", "guess")
                sent["outsider"] += 1
                i += 1
                stop.wait(0.5)

        def pupil():
            i = 0
            while not stop.is_set():
                name = ["teacher", "staff", "gm", f"nobody{i}"][i % 4]
                Browser(s, nat).password(name, "guess")
                sent["pupil"] += 1
                i += 1
                stop.wait(0.5)
        attackers = [threading.Thread(target=outsider), threading.Thread(target=pupil)]
        for t in attackers:
            t.start()
        time.sleep(10)  # the allowances spent
        seen = {k: [] for k in ("teacher own browser (elsewhere)", "staff own browser (NAT)",
                                "gm own browser (NAT)", "teacher new browser (elsewhere)",
                                "staff new browser (NAT)", "teacher new browser (NAT)")}
        for _ in range(20):
            seen["teacher own browser (elsewhere)"].append(own["teacher"].password(
                "teacher", PASSWORD))
            seen["staff own browser (NAT)"].append(own["staff"].password("staff", PASSWORD))
            seen["gm own browser (NAT)"].append(own["gm"].password("gm", PASSWORD))
            seen["teacher new browser (elsewhere)"].append(
                Browser(s, "203.0.113.99").password("teacher", PASSWORD))
            seen["staff new browser (NAT)"].append(Browser(s, nat).password("staff", PASSWORD))
            seen["teacher new browser (NAT)"].append(
                Browser(s, nat).password("teacher", PASSWORD))
            time.sleep(2.5)
        stop.set()
        for t in attackers:
            t.join()
        for k, v in seen.items():
            got = sum(1 for st, code in v if code)
            print(f"| #5 {k} | right password got a code {got} of {len(v)} | "
                  f"statuses {counts(st for st, _ in v)} |")
        print(f"<!-- #5 attackers sent: outsider {sent['outsider']}, pupil {sent['pupil']} "
              f"wrong passwords -->")
    finally:
        s.close()


def maximal_authorize():
    """The longest /authorize the limits let through (each parameter at its maximum)."""
    params = [("response_type", "code"), ("client_id", CLIENT), ("redirect_uri", REDIRECT),
              ("scope", "openid"), ("state", "S" * 2048), ("nonce", "N" * 512),
              ("login_hint", "h" * 256), ("prompt", "login")]
    # Unknown parameters are dropped, not carried; more than these 32 overflow the request
    # line (400 before any handler).
    params += [(f"x{i}", "x" * 2048) for i in range(24)]
    return f"/schools/{SCHOOL}/authorize?" + urllib.parse.urlencode(params)


def h6(args):
    """#6: a flood of maximal /authorize requests from one address (and from one IPv6 /64),
    then a teacher at that address logs in; memory and Redis growth."""
    s = Server(args)
    try:
        path = maximal_authorize()
        rss0 = s.rss_mib()
        db0 = s.storage_bytes()
        keys0 = redis_usage(args.redis) if args.redis else None

        def one(i):
            b = Browser(s, "203.0.113.50" if i % 2 == 0 else f"2001:db8:1:2::{i:x}")
            st, _, body = b.send("GET", path)
            return st, len(body)
        t0 = time.monotonic()
        answers = parallel(2000, one, threads=16)
        took = time.monotonic() - t0
        rss1 = s.rss_mib()
        ok = Browser(s, "203.0.113.50").password("teacher", PASSWORD)[1]
        ok6 = Browser(s, "2001:db8:1:2::1").password("teacher", PASSWORD)[1]
        page = max(a[1] for a in answers if a[0] != "error")
        extra = ""
        if args.redis:
            keys1 = redis_usage(args.redis)
            extra = f" | Redis keys {keys0[0]} → {keys1[0]}, bytes {keys0[1]} → {keys1[1]}"
        print(f"| #6 2,000 maximal /authorize (URL {len(path)} bytes, page {page} bytes), "
              f"half from 203.0.113.50, half from 2001:db8:1:2::/64 | {took:.1f} s | "
              f"{counts(a[0] for a in answers)} | RSS {rss0:.1f} → {rss1:.1f} MiB | storage "
              f"+{mb(s.storage_bytes() - db0)} | teacher at both addresses then got a code: "
              f"{ok}, {ok6}{extra} |")
    finally:
        s.close()


def h7(args):
    """#7: 1,500 card challenges with 64 KiB bodies (a made-up pending request, then a real
    one); memory and Redis growth."""
    s = Server(args, card=True)
    try:
        b = csrf_browser(s, "203.0.113.70")
        _, req, csrf = b.login_page()
        rss0 = s.rss_mib()
        keys0 = redis_usage(args.redis) if args.redis else (0, 0)
        pad = "p" * (60 * 1024)  # with the rest of the form, under the 64 KiB form limit

        def forged(i):
            c = Browser(s, f"10.2.{i >> 8 & 255}.{i & 255}")
            c.cookies = dict(b.cookies)
            return c.send("POST", f"/schools/{SCHOOL}/login/card/challenge",
                          {"req": pad + str(i), "csrf": csrf})[0]

        def real(i):
            c = Browser(s, f"10.3.{i >> 8 & 255}.{i & 255}")
            c.cookies = dict(b.cookies)
            return c.send("POST", f"/schools/{SCHOOL}/login/card/challenge",
                          {"req": req, "csrf": csrf, "pad": pad})[0]
        for label, fn in (("made-up request, 64 KiB", forged),
                          ("a real pending request + 64 KiB padding", real)):
            r0 = s.rss_mib()
            statuses = parallel(1500, fn, threads=16)
            keys1 = redis_usage(args.redis) if args.redis else (0, 0)
            extra = (f" | Redis keys {keys0[0]} → {keys1[0]}, bytes {keys0[1]} → {keys1[1]}"
                     if args.redis else "")
            print(f"| #7 1,500 challenges, {label}, each from a new address | "
                  f"{counts(statuses)} | RSS {r0:.1f} → {s.rss_mib():.1f} MiB (start "
                  f"{rss0:.1f}){extra} |")
    finally:
        s.close()


def h9(args):
    """#9: 56 concurrent unauthenticated 8 MiB bodies to the admin API; peak RSS."""
    s = Server(args)
    try:
        rss0 = s.rss_mib()
        peak = [rss0]
        done = threading.Event()

        def watch():
            while not done.is_set():
                peak[0] = max(peak[0], s.rss_mib())
                time.sleep(0.02)
        w = threading.Thread(target=watch)
        w.start()
        body = b"a" * (8 * 1024 * 1024)

        def one(i):
            path = [f"/admin/v1/schools/{SCHOOL}/users/import",
                    f"/admin/v1/schools/{SCHOOL}/users",
                    "/admin/v1/onboarding/schools"][i % 3]
            c = socket.create_connection(("127.0.0.1", s.port), timeout=20)
            c.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
            sent = 0
            try:
                for k in range(0, len(body), 65536):
                    c.sendall(body[k:k + 65536])
                    sent += 65536
            except OSError:
                pass
            try:
                head = c.recv(64).split(b"\r\n")[0].decode()
            except OSError:
                head = "no answer"
            c.close()
            return head.split(" ")[1] if head.startswith("HTTP/") else head, sent
        t0 = time.monotonic()
        answers = parallel(56, one, threads=56)
        took = time.monotonic() - t0
        time.sleep(0.5)
        done.set()
        w.join()
        print(f"| #9 56 concurrent 8 MiB bodies, no token | {took:.1f} s | "
              f"{counts(a[0] for a in answers)} | RSS {rss0:.1f} → peak {peak[0]:.1f} MiB |")
    finally:
        s.close()


def h11(args):
    """#11: GET /logout from another site (no id_token_hint), the teacher logged in."""
    s = Server(args)
    try:
        b = Browser(s)
        assert b.password("teacher", PASSWORD)[1]
        st, h, body = b.send("GET", f"/schools/{SCHOOL}/logout",
                             headers={"Referer": "https://evil.example/",
                                      "Sec-Fetch-Site": "cross-site"})
        asks = b'name="confirm"' in body
        # A cross-site POST carries no SameSite=Strict CSRF cookie (the browser holds it back)
        # and no session (Lax): the confirmation's form alone.
        stranger = Browser(s)
        stranger.cookies = {k: v for k, v in b.cookies.items() if k == "gpki_session"}
        pst, _, _ = stranger.send("POST", f"/schools/{SCHOOL}/logout",
                                  {"confirm": "yes", "csrf": "x" * 32})
        _, h2, _ = b.send("GET", f"/schools/{SCHOOL}/authorize?response_type=code&client_id="
                          f"{CLIENT}&redirect_uri={urllib.parse.quote(REDIRECT, safe='')}"
                          f"&scope=openid&state=s")
        still = "code=" in h2.get("location", "")
        print(f"| #11 GET /logout cross-site | {st}, confirmation asked: {asks} | POST without "
              f"the CSRF value: {pst} | still logged in after: {still} |")
    finally:
        s.close()


def id_token_of(s, username, scope="openid"):
    """Logs `username` in at the demo portal and exchanges the code: the token answer."""
    b = Browser(s)
    path = (f"/schools/{SCHOOL}/authorize?response_type=code&client_id={CLIENT}&redirect_uri="
            f"{urllib.parse.quote(REDIRECT, safe='')}&scope={urllib.parse.quote(scope)}"
            f"&state=st&prompt=login")
    html = b.send("GET", path)[2].decode()
    req = re.search(r'name="req" value="([^"]*)"', html).group(1)
    csrf = re.search(r'name="csrf" value="([^"]*)"', html).group(1)
    _, h, _ = b.send("POST", f"/schools/{SCHOOL}/login", {
        "req": req, "csrf": csrf, "username": username, "password": PASSWORD})
    code = urllib.parse.parse_qs(urllib.parse.urlparse(h["location"]).query)["code"][0]
    auth = "Basic " + base64.b64encode(f"{CLIENT}:{CLIENT_SECRET}".encode()).decode()
    _, _, body = Browser(s).send("POST", f"/schools/{SCHOOL}/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": auth})
    return json.loads(body)


def logged_in(b):
    _, h, _ = b.send("GET", f"/schools/{SCHOOL}/authorize?response_type=code&client_id="
                     f"{CLIENT}&redirect_uri={urllib.parse.quote(REDIRECT, safe='')}"
                     f"&scope=openid&state=s")
    return "code=" in h.get("location", "")


def h11_hint(args):
    """Round 2 of #11: the logout link carries an id_token_hint, but one of another account
    (the attacker's own ID token from the school's portal)."""
    s = Server(args)
    try:
        b = Browser(s)
        assert b.password("teacher", PASSWORD)[1]
        mine = id_token_of(s, "staff")["id_token"]
        st, h, body = b.send("GET", f"/schools/{SCHOOL}/logout?id_token_hint={mine}",
                             headers={"Referer": "https://evil.example/",
                                      "Sec-Fetch-Site": "cross-site"})
        asks = b'name="confirm"' in body
        print(f"| #11 round 2: GET /logout?id_token_hint=<another account's ID token> "
              f"cross-site | {st}, confirmation asked: {asks} | teacher still logged in "
              f"after: {logged_in(b)} |")
    finally:
        s.close()


def methods_answer(s, b, name):
    _, req, csrf = b.login_page()
    t0 = time.monotonic()
    st, _, body = b.send("POST", f"/schools/{SCHOOL}/login/methods",
                         {"req": req, "csrf": csrf, "username": name})
    return st, body.decode(), time.monotonic() - t0


def h12(args):
    """#12: the account-first step for existing accounts (different roles) and unknown ones,
    from a stranger's browser; 200 look-ups of each, answers and median time."""
    s = Server(args, card=True)
    try:
        subprocess.run([args.binary, "admin", "set-policy", "--config", s.config,
                        "--data-dir", s.data, "--school", SCHOOL, "--role", "admin",
                        "--methods", "password+certificate"], capture_output=True)
        b = csrf_browser(s)
        rows = []
        for name in ("teacher", "gm", "staff", "nobody", "x" * 64):
            answers = [methods_answer(s, b, name) for _ in range(200)]
            bodies = {a[1] for a in answers}
            rows.append(f"`{name[:10]}` → {' / '.join(sorted(bodies))} "
                        f"({statistics.median(a[2] for a in answers) * 1000:.2f} ms)")
        print("| #12 /login/methods, stranger's browser, 200 each | " + "; ".join(rows) + " |")
    finally:
        s.close()


def admin_token(s):
    """An access token with the admin scope: the demo GM logs in through the portal."""
    b = Browser(s)
    _, req, csrf = b.login_page()
    path = (f"/schools/{SCHOOL}/authorize?response_type=code&client_id={CLIENT}&redirect_uri="
            f"{urllib.parse.quote(REDIRECT, safe='')}&scope=openid%20admin&state=st"
            f"&prompt=login")
    html = b.send("GET", path)[2].decode()
    req = re.search(r'name="req" value="([^"]*)"', html).group(1)
    csrf = re.search(r'name="csrf" value="([^"]*)"', html).group(1)
    _, h, _ = b.send("POST", f"/schools/{SCHOOL}/login", {
        "req": req, "csrf": csrf, "username": "gm", "password": PASSWORD})
    code = urllib.parse.parse_qs(urllib.parse.urlparse(h["location"]).query)["code"][0]
    auth = "Basic " + base64.b64encode(f"{CLIENT}:{CLIENT_SECRET}".encode()).decode()
    _, _, body = Browser(s).send("POST", f"/schools/{SCHOOL}/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        headers={"Authorization": auth})
    return json.loads(body)["access_token"]


def h15(args):
    """#15: the brand colour with signs (`#+f+f+f`) and other non-hex forms."""
    s = Server(args)
    try:
        token = admin_token(s)
        b = Browser(s)
        rows = []
        for colour in ("#+f+f+f", "#-1-1-1", "#12345", "#1234567", "#１２３４５６", "#1f4e8c", "#1F4E8C"):
            st, _, body = b.send("PUT", f"/admin/v1/schools/{SCHOOL}/branding",
                                 json.dumps({"colour": colour}),
                                 headers={"Authorization": f"Bearer {token}",
                                          "Content-Type": "application/json"})
            rows.append(f"`{colour}` → {st}")
        print("| #15 PUT branding colour | " + "; ".join(rows) + " |")
    finally:
        s.close()


def lookups(args):
    """Round 2: a pupil behind the school's NAT address spends the address's budget of
    account look-ups (max_lookups_per_ip, 5,000 per window); then teachers there open the
    login page's first step."""
    s = Server(args, campus="10.1.0.0/16", card=True)
    try:
        nat = "10.1.0.1"
        own = Browser(s, nat)
        assert own.password("teacher", PASSWORD)[1]
        b = csrf_browser(s, nat)
        _, req, csrf = b.login_page()

        def one(i):
            c = Browser(s, nat)
            c.cookies = dict(b.cookies)
            return c.send("POST", f"/schools/{SCHOOL}/login/methods",
                          {"req": req, "csrf": csrf, "username": f"u{i}"})[0]
        t0 = time.monotonic()
        statuses = parallel(5001, one, threads=16)
        took = time.monotonic() - t0
        new = methods_answer(s, csrf_browser(s, nat), "staff")
        known = methods_answer(s, own, "teacher")
        print(f"| lookups: 5,001 /login/methods from the NAT address 10.1.0.1 (campus) | "
              f"{took:.1f} s | {counts(statuses)} | then staff (new browser) at the NAT: "
              f"{new[0]}; teacher (own browser): {known[0]} {known[1][:80]} |")
    finally:
        s.close()


def challenges(args):
    """Round 2: a pupil behind the school's NAT address spends the address's budget of card
    challenges (max_challenges_per_ip, 5,000 per window); then a teacher there asks for
    one."""
    s = Server(args, campus="10.1.0.0/16", card=True)
    try:
        nat = "10.1.0.1"
        b = csrf_browser(s, nat)
        _, req, csrf = b.login_page()

        def one(i):
            c = Browser(s, nat)
            c.cookies = dict(b.cookies)
            return c.send("POST", f"/schools/{SCHOOL}/login/card/challenge",
                          {"req": req, "csrf": csrf})[0]
        t0 = time.monotonic()
        statuses = parallel(5001, one, threads=16)
        took = time.monotonic() - t0
        t = csrf_browser(s, nat)
        _, treq, tcsrf = t.login_page()
        st, _, body = t.send("POST", f"/schools/{SCHOOL}/login/card/challenge",
                             {"req": treq, "csrf": tcsrf})
        print(f"| challenges: 5,001 card challenges from the NAT address 10.1.0.1 (campus) | "
              f"{took:.1f} s | {counts(statuses)} | then a teacher there: {st} "
              f"{body.decode()[:60]} |")
    finally:
        s.close()


def campus_card(args):
    """Round 2: a pupil behind the school's NAT address (campus 10.1.0.0/16) sends card logins
    with a made-up challenge, which on campus no scope counts; then wrong passwords for
    made-up accounts. Audit events and storage growth."""
    s = Server(args, campus="10.1.0.0/16", card=True)
    try:
        nat = "10.1.0.1"
        b = csrf_browser(s, nat)
        _, req, csrf = b.login_page()
        time.sleep(1.5)
        for label, n, fn in (
                ("card logins, made-up challenge", 3000, lambda c, i: c.send(
                    "POST", f"/schools/{SCHOOL}/login/card", {
                        "req": req, "csrf": csrf, "username": "n" * 64,
                        "challenge": f"made-up-{i}", "signature": "AAAA", "certb64": ""})[0]),
                ("wrong passwords, made-up accounts", 600, lambda c, i: c.send(
                    "POST", f"/schools/{SCHOOL}/login", {
                        "req": req, "csrf": csrf, "username": f"{'n' * 58}{i:06}",
                        "password": "guess"})[0])):
            db0, log0, (rows0, aud0) = s.storage_bytes(), s.log_bytes, s.audit_table()

            def one(i):
                c = Browser(s, nat)
                c.cookies = dict(b.cookies)
                return fn(c, i)
            t0 = time.monotonic()
            statuses = parallel(n, one, threads=16)
            took = time.monotonic() - t0
            time.sleep(2.5)
            rows1, aud1 = s.audit_table()
            grow = s.storage_bytes() - db0
            events = rows1 - rows0
            print(f"| campus: {n:,} {label} from the NAT address | {took:.1f} s | "
                  f"{counts(statuses)} | audit rows +{events}, audit table +{mb(aud1 - aud0)}, "
                  f"database +{mb(grow)} | log +{mb(s.log_bytes - log0)} | "
                  f"{events / took:.0f} events/s |")
    finally:
        s.close()


def many_addresses(args):
    """Round 2: account look-ups, each from a new IPv6 /64 (one /48 holds 65,536 of them),
    through the trusted proxy; what the per-address counters keep, in the process or in
    Redis."""
    s = Server(args)
    try:
        b = csrf_browser(s)
        _, req, csrf = b.login_page()
        n = args.count or 20000
        keys0 = redis_usage(args.redis) if args.redis else (0, 0)
        rss0 = s.rss_mib()

        def one(i):
            c = Browser(s, f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::1")
            c.cookies = dict(b.cookies)
            return c.send("POST", f"/schools/{SCHOOL}/login/methods",
                          {"req": req, "csrf": csrf, "username": "teacher"})[0]
        t0 = time.monotonic()
        statuses = parallel(n, one, threads=16)
        took = time.monotonic() - t0
        rss1 = s.rss_mib()
        extra = ""
        if args.redis:
            keys1 = redis_usage(args.redis)
            extra = f" | Redis keys {keys0[0]} → {keys1[0]}, bytes {keys0[1]} → {keys1[1]}"
        print(f"| {n:,} /login/methods, each from a new /64 | {took:.1f} s "
              f"({n / took:.0f}/s) | {counts(statuses)} | RSS {rss0:.1f} → {rss1:.1f} MiB "
              f"(+{(rss1 - rss0) * 1024 * 1024 / n:.0f} bytes per address){extra} |")
    finally:
        s.close()


def aia_certs(data, n, urls, length, port):
    """`n` self-signed certificates (base64 DER), each with `urls` AIA caIssuers URLs of about
    `length` characters under http://127.0.0.1:PORT/ (no signature of ours is needed: the
    issuer is unknown, which is what makes the verifier look it up)."""
    key = os.path.join(data, "aia.key")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    out = []
    for i in range(n):
        cfg = os.path.join(data, "aia.cnf")
        aia = ",".join(f"caIssuers;URI:http://127.0.0.1:{port}/{i}-{k}-" + "a" * length
                       for k in range(urls))
        with open(cfg, "w") as f:
            f.write("[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n"
                    f"[dn]\nCN=aia {i}\n[ext]\nauthorityInfoAccess={aia}\n")
        der = subprocess.run(["openssl", "req", "-x509", "-key", key, "-config", cfg, "-days",
                              "30", "-outform", "DER"], check=True, capture_output=True).stdout
        out.append(base64.b64encode(der).decode())
    return out


def aia(args):
    """Round 2: /diagnostics/check (no login, no count) with certificates of an unknown issuer
    whose AIA caIssuers URLs lie under an allowed prefix: each new URL is fetched, on the
    request's blocking thread, and remembered for ever. Upstream calls, threads, memory."""
    import http.server
    hits = {"n": 0}
    delay = {"s": 0.0}

    class Upstream(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits["n"] += 1
            time.sleep(delay["s"])
            try:
                self.send_response(404)
                self.end_headers()
            except OSError:
                pass

        def log_message(self, *a):
            pass
    up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    up.daemon_threads = True
    threading.Thread(target=up.serve_forever, daemon=True).start()
    uport = up.server_address[1]
    tweak = ""
    s = Server(args, card=True, tweak=tweak, aia=f"http://127.0.0.1:{uport}/")
    try:
        def threads():
            with open(f"/proc/{s.proc.pid}/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("Threads:"))

        def check(cert):
            c = csrf_browser(s)
            t0 = time.monotonic()
            st, _, body = c.send("POST", f"/schools/{SCHOOL}/diagnostics/check",
                                 {"csrf": c.cookies["gpki_csrf"], "certb64": cert}, timeout=120)
            return st, time.monotonic() - t0
        # Memory: URLs of 8,000 characters, answered at once.
        certs = aia_certs(s.data, 300, 6, 8000, uport)
        rss0, h0 = s.rss_mib(), hits["n"]
        answers = parallel(len(certs), lambda i: check(certs[i]), threads=8)
        time.sleep(1)
        print(f"| aia: 300 certificates, 6 URLs of 8,000 characters each, upstream answers at "
              f"once | {counts(a[0] for a in answers)} | upstream GETs +{hits['n'] - h0} | "
              f"RSS {rss0:.1f} → {s.rss_mib():.1f} MiB |")
        # Cost: 50 URLs a certificate, an upstream that answers after the fetch timeout.
        delay["s"] = 6.0
        certs = aia_certs(s.data, 16, 50, 20, uport)
        h0, t0 = hits["n"], threads()
        box = []
        senders = [threading.Thread(target=lambda c=c: box.append(check(c))) for c in certs]
        for t in senders:
            t.daemon = True
            t.start()
        time.sleep(20)
        hz = []
        for _ in range(5):
            a = time.monotonic()
            Browser(s).send("GET", "/healthz")
            hz.append(time.monotonic() - a)
        print(f"| aia: 16 certificates, 50 URLs each, upstream slower than the 5 s fetch "
              f"timeout, after 20 s | diagnostics answered: {len(box)} of 16 | upstream GETs "
              f"+{hits['n'] - h0} (16 at a time) | server threads {t0} → {threads()} | /healthz "
              f"max {max(hz) * 1000:.1f} ms | each check would hold its thread for about "
              f"{50 * 5} s |")
    finally:
        s.close()
        up.shutdown()


def many_challenges(args):
    """Round 2: card challenges for one real pending request, each from a new IPv6 /64 (no
    per-address budget is ever reached): what stays stored for the challenge's 5 minutes."""
    s = Server(args, card=True)
    try:
        b = csrf_browser(s)
        _, req, csrf = b.login_page()
        n = args.count or 20000
        keys0 = redis_usage(args.redis) if args.redis else (0, 0)
        rss0 = s.rss_mib()

        def one(i):
            c = Browser(s, f"2001:db8:{i >> 16:x}:{i & 0xffff:x}::1")
            c.cookies = dict(b.cookies)
            return c.send("POST", f"/schools/{SCHOOL}/login/card/challenge",
                          {"req": req, "csrf": csrf})[0]
        t0 = time.monotonic()
        statuses = parallel(n, one, threads=16)
        took = time.monotonic() - t0
        rss1 = s.rss_mib()
        extra = ""
        if args.redis:
            keys1 = redis_usage(args.redis)
            extra = (f" | Redis keys {keys0[0]} → {keys1[0]}, bytes {keys0[1]} → {keys1[1]} "
                     f"({(keys1[1] - keys0[1]) / n:.0f} bytes a challenge)")
        print(f"| {n:,} card challenges, each from a new /64 | {took:.1f} s ({n / took:.0f}/s) "
              f"| {counts(statuses)} | RSS {rss0:.1f} → {rss1:.1f} MiB{extra} |")
    finally:
        s.close()


def enum_timing(args):
    """Class 8 again: wrong passwords for existing and unknown accounts, each from a new
    address (no throttle answers), interleaved; medians."""
    s = Server(args)
    try:
        names = ["teacher", "staff", "gm", "nobody1", "nobody2", "nobody3"]
        times = {n: [] for n in names}
        bodies = {n: set() for n in names}
        k = 0
        for _ in range(15):
            for n in names:
                k += 1
                c = Browser(s, f"10.9.{k >> 8}.{k & 255}")
                _, req, csrf = c.login_page()
                t0 = time.monotonic()
                st, _, body = c.send("POST", f"/schools/{SCHOOL}/login", {
                    "req": req, "csrf": csrf, "username": n, "password": "wrong"})
                times[n].append(time.monotonic() - t0)
                bodies[n].add((st, len(body)))
        print("| enumeration: wrong password, 15 each, new address each | " + "; ".join(
            f"`{n}` {statistics.median(t) * 1000:.1f} ms {sorted(bodies[n])}"
            for n, t in times.items()) + " |")
    finally:
        s.close()


def h5_no_campus(args):
    """#5 where the school has not set its campus ranges (the default): a pupil behind the NAT
    address fails with made-up account names only; then the school's teachers there, on their
    own browsers and on new ones, try their right passwords 20 times over 50 s."""
    s = Server(args)
    try:
        nat = "10.1.0.1"
        own = Browser(s, nat)
        assert own.password("staff", PASSWORD)[1]
        stop = threading.Event()
        sent = [0]

        def pupil():
            i = 0
            while not stop.is_set():
                Browser(s, nat).password(f"nobody{i}", "guess")
                sent[0] += 1
                i += 1
                stop.wait(0.05 if i < 110 else 1.0)
        t = threading.Thread(target=pupil)
        t.start()
        time.sleep(12)
        seen = {"staff own browser": [], "staff new browser": [], "teacher new browser": []}
        for _ in range(20):
            seen["staff own browser"].append(own.password("staff", PASSWORD))
            seen["staff new browser"].append(Browser(s, nat).password("staff", PASSWORD))
            seen["teacher new browser"].append(Browser(s, nat).password("teacher", PASSWORD))
            time.sleep(2.5)
        stop.set()
        t.join()
        for k, v in seen.items():
            print(f"| #5 no campus ranges set, pupil at the NAT address ({sent[0]} wrong "
                  f"passwords for made-up names): {k} at the NAT | right password got a code "
                  f"{sum(1 for _, c in v if c)} of {len(v)} | statuses "
                  f"{counts(st for st, _ in v)} |")
    finally:
        s.close()


def pool_flood(args):
    """Class 2 and 5 together: wrong passwords for made-up names, each from a new IPv6 /64 (one
    /48 holds 65,536; each /64 has 100 free failures), at RATE a second for 30 s, while a
    teacher logs in on the browser it always uses every 0.5 s."""
    s = Server(args)
    try:
        victim = Browser(s, "203.0.113.5")
        assert victim.password("teacher", PASSWORD)[1]
        b = csrf_browser(s)
        _, req, csrf = b.login_page()
        rate, seconds = args.rate or 300, 30
        stop = threading.Event()
        sent, answers = [0], {}
        lock = threading.Lock()

        def attacker(w, workers):
            conn = Browser(s)
            conn.cookies = dict(b.cookies)
            n = w
            t0 = time.monotonic()
            while not stop.is_set():
                due = t0 + (n // workers) * workers / rate
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
                conn.xff = f"2001:db8:{n >> 16:x}:{n & 0xffff:x}::1"
                try:
                    st = conn.send("POST", f"/schools/{SCHOOL}/login", {
                        "req": req, "csrf": csrf, "username": f"x{n}", "password": "guess"})[0]
                except OSError:
                    st = "error"
                with lock:
                    answers[st] = answers.get(st, 0) + 1
                    sent[0] += 1
                n += workers
        workers = 64
        ts = [threading.Thread(target=attacker, args=(w, workers)) for w in range(workers)]
        for t in ts:
            t.start()
        time.sleep(3)
        seen, took, fresh = [], [], []
        end = time.monotonic() + seconds - 3
        while time.monotonic() < end:
            a = time.monotonic()
            seen.append(victim.password("teacher", PASSWORD))
            took.append(time.monotonic() - a)
            fresh.append(Browser(s, "203.0.113.6").password("staff", PASSWORD))
            time.sleep(0.5)
        stop.set()
        for t in ts:
            t.join()
        got = sum(1 for _, c in seen if c)
        print(f"| pool flood: {rate}/s wrong passwords due, made-up names, a new /64 each, "
              f"{seconds} s | attacker answers {counts(answers.items() and [k for k, v in answers.items() for _ in range(v)])} "
              f"| teacher's own browser: code {got} of {len(seen)} ({counts(st for st, _ in seen)}), "
              f"median {statistics.median(took) * 1000:.0f} ms | staff on a new browser: code "
              f"{sum(1 for _, c in fresh if c)} of {len(fresh)} "
              f"({counts(st for st, _ in fresh)}) |")
    finally:
        s.close()


def h4_replicas(args):
    """#4 across two replicas on one PostgreSQL and Redis: 100 concurrent wrong passwords for
    one account from one address, half sent to each replica, the right password last."""
    if not (args.redis and args.postgres):
        raise SystemExit("h4_replicas needs --redis and --postgres")
    first = Server(args)
    second = Server(args, replica_of=first)
    try:
        servers = [first, second]
        browsers = [Browser(servers[i % 2], "198.51.100.20") for i in range(100)]
        forms = [b.login_page()[1:] for b in browsers]
        barrier = threading.Barrier(100)

        def one(i):
            req, csrf = forms[i]
            pw = PASSWORD if i == 99 else "wrong-guess"
            barrier.wait()
            st, h, _ = browsers[i].send("POST", f"/schools/{SCHOOL}/login", {
                "req": req, "csrf": csrf, "username": "teacher", "password": pw})
            return st, st == 302 and "code=" in h.get("location", "")
        answers = parallel(100, one, threads=100)
        checked = sum(1 for a in answers if a[0] != 429)
        print(f"| #4 burst of 100 over two replicas (Redis, PostgreSQL) | checked (not 429): "
              f"{checked} of 100 | statuses {counts(a[0] for a in answers)} | right password "
              f"got a code: {answers[99][1]} |")
    finally:
        second.close()
        first.close()


def other_school(args):
    """Class 10 against what changed: a second school `other` (its GM and portal made with the
    CLI), and the demo school's pending request, challenge, session and hint taken there; the
    demo GM's token at the other school's admin API."""
    s = Server(args, card=True)
    try:
        def run(*a):
            return subprocess.run([args.binary, "admin", a[0], "--config", s.config,
                                   "--data-dir", s.data, *a[1:]], capture_output=True)
        run("create-school", "--code", "other", "--name", "Other School")
        run("create-admin", "--school", "other", "--username", "teacher", "--name", "王小明老師")
        rows = []
        b = Browser(s)
        _, req, csrf = b.login_page()
        st, _, body = b.send("POST", "/schools/other/login", {
            "req": req, "csrf": csrf, "username": "teacher", "password": "x"})
        rows.append(f"demo's pending request posted at other: {st} "
                    f"{'login_expired' if b'login_expired' in body or '登入' in body.decode() else body[:40]}")
        st, _, body = b.send("POST", "/schools/other/login/card/challenge",
                             {"req": req, "csrf": csrf})
        rows.append(f"demo's request for a challenge at other: {st} {body.decode()[:40]}")
        assert b.password("teacher", PASSWORD)[1]
        hint = id_token_of(s, "teacher")["id_token"]
        sid = b.cookies.get("gpki_session")
        st, _, body = b.send("GET", f"/schools/other/logout?id_token_hint={hint}")
        # (Our client drops a cookie by name; a browser would clear only other's path.)
        again = Browser(s)
        again.cookies = {"gpki_session": sid}
        rows.append(f"demo's session cookie and hint at other's /logout: {st}, demo session "
                    f"still logged in: {logged_in(again)}")
        token = admin_token(s)
        for path in ("/admin/v1/schools/other/users", "/admin/v1/schools/other/audit",
                     "/admin/v1/schools/nowhere/users"):
            st, _, body = Browser(s).send("GET", path,
                                          headers={"Authorization": f"Bearer {token}"})
            rows.append(f"demo GM's token GET {path}: {st} {body.decode()[:30]}")
        print("| other school | " + "; ".join(rows) + " |")
    finally:
        s.close()


CASES = {"aia": aia, "other_school": other_school, "h4_replicas": h4_replicas, "pool_flood": pool_flood, "h5_no_campus": h5_no_campus, "many_challenges": many_challenges, "enum_timing": enum_timing, "h11_hint": h11_hint, "campus_card": campus_card, "many_addresses": many_addresses, "h1": h1, "h3": h3_h10, "h10": h3_h10, "h4": h4, "h5": h5, "h6": h6, "h7": h7,
         "h9": h9, "h11": h11, "h12": h12, "h15": h15, "lookups": lookups,
         "challenges": challenges}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--redis")
    p.add_argument("--postgres")
    p.add_argument("--count", type=int, help="requests of many_addresses (20,000)")
    p.add_argument("--rate", type=int, help="wrong passwords a second of pool_flood (300)")
    p.add_argument("cases", nargs="+", choices=sorted(CASES))
    a = p.parse_args()
    for case in a.cases:
        t0 = time.monotonic()
        CASES[case](a)
        print(f"<!-- {case}: {time.monotonic() - t0:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
