"""A small OpenAI-compatible model server that answers deterministically, on 127.0.0.1.

For tests and the demo: it reads the options (lines ``<code>. <text>``) or the categories
(``Choose one of: a, b, c.``) from the prompt and answers the one picked by a hash of the
prompt and its seed, with log-probabilities for every option. Modes make it misbehave on
purpose: ``garbage`` (an answer that names nothing), ``slow`` (sleeps past any timeout),
``flaky`` (HTTP 500 on the first attempt at each prompt), ``broken`` (not JSON).

``python -m evaluation.stub`` serves it from a process of its own (see :func:`main`).
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OPTION_LINE = re.compile(r"^\s*([^\s.]+)\.\s", re.MULTILINE)
CATEGORY_LIST = re.compile(r"(?:Choose one of|다음 중 하나를 고르세요):\s*(.+?)\.\s*$", re.M)


def choices_in(prompt: str) -> list[str]:
    found = OPTION_LINE.findall(prompt)
    if found:
        return found
    match = CATEGORY_LIST.search(prompt)
    return [c.strip() for c in match.group(1).split(",")] if match else []


class StubServer:
    """``with StubServer() as stub: stub.url`` serves until the block ends."""

    def __init__(self, *, mode: str = "ok", seed: int = 0, delay: float = 0.0) -> None:
        self.mode = mode
        self.seed = seed
        self.delay = delay
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.requests = 0
        self.seen: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                # The counters, for a benchmark that runs the stub in a process of its own.
                with stub.lock:
                    data = json.dumps(
                        {"requests": stub.requests, "max_active": stub.max_active}
                    ).encode()
                self.send_response(200 if self.path == "/stats" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                with stub.lock:
                    stub.active += 1
                    stub.requests += 1
                    stub.max_active = max(stub.max_active, stub.active)
                try:
                    status, payload = stub.answer(self.path, body)
                finally:
                    with stub.lock:
                        stub.active -= 1
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1/chat/completions"

    def __enter__(self) -> StubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def pick(self, prompt: str, names: list[str]) -> tuple[str, dict[str, float]]:
        digest = hashlib.sha256(f"{self.seed}:{prompt}".encode()).digest()
        scores = [digest[i % len(digest)] + 1.0 for i in range(len(names))]
        total = sum(scores)
        probs = {n: s / total for n, s in zip(names, scores, strict=True)}
        best = max(names, key=probs.__getitem__)
        return best, {n: math.log(p) for n, p in probs.items()}

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        chat = path.endswith("/chat/completions")
        prompt = body["messages"][-1]["content"] if chat else str(body.get("prompt", ""))
        if self.delay:
            time.sleep(self.delay)
        if self.mode == "slow":
            time.sleep(5)
        if self.mode == "broken":
            return 200, b"<html>not json</html>"
        if self.mode == "flaky":
            with self.lock:
                first = prompt not in self.seen
                self.seen.add(prompt)
            if first:
                return 500, {"error": "try again"}
        names = choices_in(prompt)
        best, logprobs = self.pick(prompt, names) if names else ("", {})
        text = "I would rather not say." if self.mode == "garbage" else best
        top = [{"token": n, "logprob": lp} for n, lp in logprobs.items()]
        usage = {"prompt_tokens": len(prompt.split()), "completion_tokens": 1}
        if chat:
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "logprobs": {"content": [{"token": text, "logprob": 0.0, "top_logprobs": top}]},
                "finish_reason": "stop",
            }
        else:
            choice = {
                "index": 0,
                "text": text,
                "logprobs": {"top_logprobs": [{t["token"]: t["logprob"] for t in top}]},
                "finish_reason": "stop",
            }
        return 200, {"id": "stub", "object": "chat.completion", "choices": [choice], "usage": usage}


def main(argv: list[str] | None = None) -> None:
    """``python -m evaluation.stub [--delay S] [--seed N] [--mode M]``: serve until killed,
    printing the chat completions URL first (``GET /stats`` gives the request counters)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", default="ok")
    args = parser.parse_args(argv)
    with StubServer(mode=args.mode, seed=args.seed, delay=args.delay) as stub:
        print(stub.url, flush=True)
        stub.thread.join()


if __name__ == "__main__":
    main()
