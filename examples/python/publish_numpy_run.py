#!/usr/bin/env python3
"""Streams a numpy training run in gradstream's wire format (v1), so gradstream's clients
(the playground's Live page, `fromServerSentStates`) plot it like any gradstream run.

The run: least-squares linear regression y ≈ w·x + b on 64 fixed points (y = 3x + 1 plus a
deterministic wiggle), full-batch gradient descent with learning rate --lr.

    python3 examples/python/publish_numpy_run.py --port 8081          # Server-Sent Events
    python3 examples/python/publish_numpy_run.py --jsonl --steps 20   # JSON lines on stdout

then open the playground's Live page at  #/live?url=http://127.0.0.1:8081/events

The wire format (see src/state/wireFormat.ts): one JSON object per state,
  {"v": 1, "step": k, "loss": F, "lr": F, "gradNorm": F, "evaluations": n,
   "metrics": {name: F}, "hyper": {name: F}, "params": tree, "run": "numpy", "time": ms}
where F is a JSON number or {"$f64": "NaN" | "Infinity" | "-Infinity" | "-0"}, and a tensor in
`params` is {"shape": [...], "data": {"$f64le": base64 of the little-endian float64 bytes}}.
Over SSE each frame is an event `id: <step>`, `event: state`, `data: <frame>`; the run ends with
`event: end`. A client reconnecting with Last-Event-ID (or ?after=) gets the frames after it.
Only the standard library and numpy; loopback by default.
"""
import argparse
import base64
import json
import math
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import numpy as np


def f64(v):
    """A float64 as the wire format writes it."""
    v = float(v)
    if math.isnan(v):
        return {"$f64": "NaN"}
    if math.isinf(v):
        return {"$f64": "Infinity" if v > 0 else "-Infinity"}
    if v == 0 and math.copysign(1, v) < 0:
        return {"$f64": "-0"}
    return v


def tensor(a):
    a = np.ascontiguousarray(a, dtype="<f8")
    return {"shape": list(a.shape), "data": {"$f64le": base64.b64encode(a.tobytes()).decode()}}


def run(steps, lr):
    """Yields wire frames of gradient descent on mean squared error, step 0 first."""
    x = np.linspace(-1.0, 1.0, 64)
    y = 3.0 * x + 1.0 + 0.1 * np.sin(7.0 * x)
    w = np.zeros(2)  # (slope, intercept)
    t0 = time.perf_counter()
    yield frame(0, w, math.nan, math.nan, 0.0, 0, {}, t0)
    for k in range(1, steps + 1):
        r = w[0] * x + w[1] - y
        loss = float(np.mean(r * r))
        grad = np.array([2.0 * np.mean(r * x), 2.0 * np.mean(r)])
        w = w - lr * grad
        yield frame(k, w, loss, lr, float(np.linalg.norm(grad)), k, {"slope": w[0], "intercept": w[1]}, t0)


def frame(step, w, loss, lr, grad_norm, evaluations, metrics, t0):
    return {
        "v": 1,
        "step": step,
        "loss": f64(loss),
        "lr": f64(lr),
        "gradNorm": f64(grad_norm),
        "evaluations": evaluations,
        "metrics": {k: f64(v) for k, v in metrics.items()},
        "hyper": {} if math.isnan(lr) else {"sgd.lr": f64(lr)},
        "params": {"w": tensor(w)},
        "run": "numpy",
        "time": f64((time.perf_counter() - t0) * 1000.0),
    }


class Broadcast:
    """Frames published so far, and the clients waiting for more."""

    def __init__(self):
        self.frames = []  # (step, text)
        self.ended = False
        self.cond = threading.Condition()

    def publish(self, fr):
        text = json.dumps(fr, separators=(",", ":"), allow_nan=False)
        with self.cond:
            self.frames.append((fr["step"], f"id: {fr['step']}\nevent: state\ndata: {text}\n\n"))
            self.cond.notify_all()

    def end(self):
        with self.cond:
            self.ended = True
            self.cond.notify_all()


def handler_for(hub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_OPTIONS(self):
            self.send_response(204)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Access-Control-Allow-Headers", "Last-Event-ID, Cache-Control")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self):
            url = urlparse(self.path)
            if url.path != "/events":
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            raw = self.headers.get("Last-Event-ID") or (parse_qs(url.query).get("after") or [None])[0]
            after = int(raw) if raw and raw.isdigit() else -1
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Connection", "close")
            self.end_headers()
            sent = 0
            try:
                self.wfile.write(b"retry: 500\n\n")
                while True:
                    with hub.cond:
                        while sent == len(hub.frames) and not hub.ended:
                            hub.cond.wait()
                        batch = hub.frames[sent:]
                        sent = len(hub.frames)
                        ended = hub.ended
                    for step, text in batch:
                        if step > after:
                            self.wfile.write(text.encode())
                    self.wfile.flush()
                    if ended and sent == len(hub.frames):
                        self.wfile.write(b"event: end\ndata: {}\n\n")
                        self.wfile.flush()
                        return
            except (BrokenPipeError, ConnectionResetError):
                return

    return Handler


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--every", type=float, default=20.0, help="milliseconds between steps (SSE mode)")
    p.add_argument("--port", type=int, default=8081, help="0 picks a free port")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--linger", type=float, default=2.0, help="seconds to keep serving after the run")
    p.add_argument("--jsonl", action="store_true", help="write JSON lines to stdout instead of serving")
    a = p.parse_args(argv)

    if a.jsonl:
        for fr in run(a.steps, a.lr):
            sys.stdout.write(json.dumps(fr, separators=(",", ":"), allow_nan=False) + "\n")
        return 0

    hub = Broadcast()
    server = ThreadingHTTPServer((a.host, a.port), handler_for(hub))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"serving http://{a.host}:{server.server_address[1]}/events", flush=True)
    for fr in run(a.steps, a.lr):
        hub.publish(fr)
        time.sleep(a.every / 1000.0)
    hub.end()
    time.sleep(a.linger)
    server.shutdown()
    server.server_close()
    print("closed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
