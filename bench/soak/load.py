"""Steady mixed load against ticketing-local for scripts/soak (standard library only).

Each worker is a registered buyer doing, in a loop: a listing, an event read, a booking with a
fresh Idempotency-Key (retried as the contract's careful client would on 503/IN_USE), sometimes
a cancel, sometimes a refresh. RSS of the server is sampled every 10 s from /proc.
"""
import json
import random
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

BASE, PID, DURATION, WORKERS, WARMUP = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
counts, lock, stop = {}, threading.Lock(), threading.Event()


def call(method, path, body=None, token=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(BASE + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, payload = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, payload = e.code, e.read()
    with lock:
        counts[status] = counts.get(status, 0) + 1
    return status, json.loads(payload or b"null")


def careful(method, path, body, token, headers):
    for _ in range(30):
        status, reply = call(method, path, body, token, headers)
        if status == 503 or (status == 409 and reply and reply.get("code") == "IDEMPOTENCY_KEY_IN_USE"):
            time.sleep(1)
            continue
        return status, reply
    return status, reply


def rss_kb():
    with open(f"/proc/{PID}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def worker(n, events, booked):
    email = f"soak-{n}-{uuid.uuid4().hex[:8]}@example.com"
    _, reg = call("POST", "/api/v1/auth/register", {"email": email, "password": "Soak1234x", "name": f"Soak {n}"})
    token, refresh = reg["data"]["accessToken"], reg["data"]["refreshToken"]
    mine = []
    while not stop.is_set():
        call("GET", f"/api/v1/events?limit=20&sortBy={random.choice(['date', 'price', 'name'])}")
        event = random.choice(events)
        call("GET", f"/api/v1/events/{event}")
        quantity = random.randint(1, 3)
        status, reply = careful("POST", "/api/v1/bookings", {"eventId": event, "quantity": quantity}, token,
                                {"Idempotency-Key": str(uuid.uuid4())})
        if status == 201:
            mine.append((reply["data"]["id"], event, quantity))
            with lock:
                booked[event] = booked.get(event, 0) + quantity
        if mine and random.random() < 0.5:
            booking, ev, q = mine.pop(random.randrange(len(mine)))
            status, _ = careful("PATCH", f"/api/v1/bookings/{booking}/cancel", None, token, None)
            if status == 200:
                with lock:
                    booked[ev] -= q
        if random.random() < 0.1:
            status, reply = call("POST", "/api/v1/auth/refresh", {"refreshToken": refresh})
            if status == 200:
                token, refresh = reply["data"]["accessToken"], reply["data"]["refreshToken"]


def main():
    _, login = call("POST", "/api/v1/auth/login", {"email": "admin@example.com", "password": "DemoAdmin123"})
    admin = login["data"]["accessToken"]
    events = []
    for i in range(20):
        _, created = call("POST", "/api/v1/events", {
            "name": f"Soak event {i}", "venue": f"Hall {i}", "description": "soak",
            "date": "2099-01-01T20:00:00Z", "price": 10 + i, "totalTickets": 1000000}, admin)
        events.append(created["data"]["id"])
    booked = {}
    threads = [threading.Thread(target=worker, args=(n, events, booked), daemon=True) for n in range(WORKERS)]
    for t in threads:
        t.start()
    started, samples = time.time(), []
    while time.time() - started < DURATION:
        time.sleep(10)
        samples.append((round(time.time() - started), rss_kb()))
        print(f"t={samples[-1][0]:5d}s rss={samples[-1][1] / 1024:6.1f} MB requests={sum(counts.values())}", flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    after = [kb for t, kb in samples if t >= WARMUP]
    base = after[0] if after else 0
    drift = max(abs(kb - base) for kb in after) / base * 100 if base else 0.0
    print(f"requests by status: {dict(sorted(counts.items()))}")
    print(f"RSS after the {WARMUP} s warm-up: first {base / 1024:.1f} MB, min {min(after) / 1024:.1f}, "
          f"max {max(after) / 1024:.1f}, last {after[-1] / 1024:.1f}; largest drift {drift:.1f} % (target <= 10 %)")
    wrong = 0
    for event in events:
        _, got = call("GET", f"/api/v1/events/{event}")
        expected = 1000000 - booked.get(event, 0)
        if got["data"]["availableTickets"] != expected:
            wrong += 1
            print(f"counter mismatch on {event}: {got['data']['availableTickets']} != {expected}")
    print("counters exact" if wrong == 0 else f"{wrong} counters wrong")
    server_errors = sum(v for k, v in counts.items() if k >= 500 and k != 503)
    sys.exit(1 if wrong or server_errors else 0)


main()
