#!/usr/bin/env python3
"""Wrong client secrets against /token while timing /healthz (docs/ABUSE.md, issue 17 #8).

Starts `gpki-idp serve --demo` (a release build, SQLite + in-process state, on loopback) on a
fresh data directory, measures /healthz alone, then sends RATE wrong secrets a second for the
demo portal (open loop: a request is due every 1/RATE s whether or not earlier ones were
answered; at most CONCURRENCY in flight) while /healthz is probed every 200 ms with the 3 s
timeout of the Kubernetes liveness probe. Prints one markdown row per phase: /healthz median
and max (and probes unanswered within 3 s), token requests due and answered per second with
their statuses, and the server's resident memory.

  --binary PATH        the gpki-idp to measure
  --seed-with PATH     run this binary's --demo seeding first (e.g. an older build: the demo
                       client's secret is then stored as that build stored it, argon2id)
  --addresses one|many one: every wrong secret from 127.0.0.1; many: each from a new address
                       (X-Forwarded-For through the trusted loopback proxy), as a botnet or one
                       IPv6 /48 would send them
  --rate N --seconds S --concurrency C
  --redis URL          keep the short-lived state (throttle counters) in this Redis, under a
                       fresh prefix, and report its keys and their bytes after the flood
  --cpu LIST           pin the server to these CPUs (taskset -c), as a pod with a CPU limit;
                       its worker count and password pool follow (--workers defaults to the
                       number of CPUs it may use)

Run it under the build lock so that no compilation shares the cores:
  flock /tmp/cargo.lock scripts/abuse-client-secrets.py --binary target/release/gpki-idp
"""

import argparse
import base64
import http.client
import os
import queue
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time

CLIENT = "demo-portal"
PREFIX = f"gpki-abuse-{os.getpid()}:"
PROBE_EVERY = 0.2
PROBE_TIMEOUT = 3.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, data, port, cpu=None, redis=None):
    config = os.path.join(data, "abuse.toml")
    with open(config, "w") as f:
        f.write('trusted_proxies = ["127.0.0.1"]\nlog_format = "json"\n')
        if redis:
            f.write(f'redis_url = "{redis}"\nredis_prefix = "{PREFIX}"\n')
    env = dict(os.environ, RUST_LOG="warn")
    pin = ["taskset", "-c", cpu] if cpu else []
    proc = subprocess.Popen(
        pin + [binary, "serve", "--demo", "--config", config, "--data-dir", data,
               "--listen", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True)
    for line in proc.stdout:
        if line.startswith("gpki-idp listening on"):
            break
    # Keep reading so the server never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=40)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class Probes:
    """/healthz every PROBE_EVERY s, each on its own thread, so a slow answer does not delay
    the next probe (as the kubelet's probes)."""

    def __init__(self, port):
        self.port, self.times, self.unanswered = port, [], 0
        self.lock, self.stop = threading.Lock(), threading.Event()
        self.threads = []

    def probe(self):
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=PROBE_TIMEOUT)
            c.request("GET", "/healthz")
            ok = c.getresponse().status == 200
            c.close()
        except OSError:
            ok = False
        took = time.monotonic() - t0
        with self.lock:
            if ok and took <= PROBE_TIMEOUT:
                self.times.append(took)
            else:
                self.unanswered += 1

    def run(self):
        while not self.stop.is_set():
            t = threading.Thread(target=self.probe)
            t.start()
            self.threads.append(t)
            self.stop.wait(PROBE_EVERY)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def flood(port, rate, seconds, concurrency, many):
    """Open loop: RATE requests due a second for SECONDS; returns the answers by status, the
    requests answered and those still unsent at the end."""
    due = queue.Queue()
    answers, lock = {}, threading.Lock()
    auth = "Basic " + base64.b64encode(f"{CLIENT}:wrong-secret".encode()).decode()
    body = "grant_type=client_credentials"
    finished = threading.Event()

    def worker():
        conn = None
        while True:
            n = due.get()
            if n is None:
                return
            headers = {"Authorization": auth,
                       "Content-Type": "application/x-www-form-urlencoded"}
            if many:
                headers["X-Forwarded-For"] = f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
            status = "error"
            # A kept-alive connection the server closed while idle is opened again, once.
            for fresh in (conn is None, True):
                try:
                    if fresh:
                        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("POST", "/schools/demo/token", body, headers)
                    r = conn.getresponse()
                    r.read()
                    status = r.status
                    break
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = None
                    if fresh:
                        break
            if not finished.is_set():
                with lock:
                    answers[status] = answers.get(status, 0) + 1

    workers = [threading.Thread(target=worker) for _ in range(concurrency)]
    for w in workers:
        w.start()
    t0 = time.monotonic()
    for n in range(int(rate * seconds)):
        delay = t0 + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        due.put(n)
    time.sleep(max(0.0, t0 + seconds - time.monotonic()))
    finished.set()
    unsent = due.qsize()
    while not due.empty():
        try:
            due.get_nowait()
        except queue.Empty:
            break
    for _ in workers:
        due.put(None)
    for w in workers:
        w.join()
    return answers, unsent


def phase(port, pid, seconds, flood_args=None):
    probes = Probes(port)
    runner = threading.Thread(target=probes.run)
    rss0 = rss_mib(pid)
    runner.start()
    if flood_args:
        answers, unsent = flood(port, seconds=seconds, **flood_args)
    else:
        time.sleep(seconds)
        answers, unsent = {}, 0
    probes.finish()
    runner.join()
    return probes, answers, unsent, rss0, rss_mib(pid)


def redis_usage(url):
    """Keys under PREFIX in the Redis at `url` and their bytes; deleted afterwards."""
    cli = ["redis-cli", "-u", url]
    keys = subprocess.run(cli + ["--scan", "--pattern", PREFIX + "*"], capture_output=True,
                          text=True, check=True).stdout.split()
    size = 0
    for k in keys:
        out = subprocess.run(cli + ["MEMORY", "USAGE", k], capture_output=True, text=True)
        size += int(out.stdout.strip() or 0)
    for i in range(0, len(keys), 500):
        subprocess.run(cli + ["DEL"] + keys[i:i + 500], capture_output=True)
    return len(keys), size


def ms(x):
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--binary", required=True)
    p.add_argument("--seed-with")
    p.add_argument("--addresses", choices=["one", "many"], default="one")
    p.add_argument("--rate", type=float, default=70)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--label", default="")
    p.add_argument("--cpu")
    p.add_argument("--redis")
    a = p.parse_args()
    data = tempfile.mkdtemp(prefix="gpki-abuse-")
    port = free_port()
    try:
        if a.seed_with:
            stop(start(a.seed_with, data, port))
        proc = start(a.binary, data, port, a.cpu, a.redis)
        try:
            quiet = phase(port, proc.pid, 5)
            loud = phase(port, proc.pid, a.seconds, dict(
                rate=a.rate, concurrency=a.concurrency, many=a.addresses == "many"))
        finally:
            stop(proc)
    finally:
        shutil.rmtree(data, ignore_errors=True)
    if a.redis:
        keys, size = redis_usage(a.redis)
        print(f"<!-- Redis after the flood: {keys} keys under the prefix, {size} bytes "
              f"(MEMORY USAGE) -->")
    qp = quiet[0]
    probes, answers, unsent, rss0, rss1 = loud
    answered = sum(v for k, v in answers.items() if k != "error")
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(answers.items(), key=str))
    times = probes.times or [float("nan")]
    print("| case | /healthz alone (median / max) | wrong secrets due /s | /healthz under flood "
          "(median / max, probes unanswered in 3 s) | token answers /s | token statuses | "
          "unsent at end | RSS MiB before → after |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(f"| {a.label} | {ms(statistics.median(qp.times))} / {ms(max(qp.times))} | {a.rate:g} "
          f"({a.addresses} address{'es' if a.addresses == 'many' else ''}) | "
          f"{ms(statistics.median(times))} / {ms(max(times))}, {probes.unanswered} of "
          f"{len(probes.times) + probes.unanswered} | {answered / a.seconds:.1f} | {statuses} | "
          f"{unsent} | {rss0:.1f} → {rss1:.1f} |")


if __name__ == "__main__":
    main()
