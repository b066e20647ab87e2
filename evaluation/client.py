"""Talking to an OpenAI-compatible model endpoint: prompts, one call, and reading the answer.

No Django here: the endpoint run (``evaluation.services.endpoints``) feeds it items and stores
what it returns.
"""

from __future__ import annotations

import json
import math
import re
import string
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PLACEHOLDERS = {"question", "options", "text", "categories", "item"}

DEFAULT_TEMPLATES = {
    ("question", "en"): (
        "{question}\n\n{options}\n\nAnswer with the number or code of one option only."
    ),
    ("question", "ko"): "{question}\n\n{options}\n\n하나의 선택지 번호(코드)만 답하세요.",
    ("text", "en"): (
        "{text}\n\nWhich category fits this passage best? Choose one of: {categories}.\n"
        "Answer with the category only."
    ),
    ("text", "ko"): (
        "{text}\n\n이 글에 가장 알맞은 범주는 무엇입니까? 다음 중 하나를 고르세요: {categories}.\n"
        "범주 이름만 답하세요."
    ),
}


class EndpointError(Exception):
    """A call that gave no usable answer; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


class TemplateError(ValueError):
    """A prompt template that cannot be filled: ``placeholder`` is the first unknown
    placeholder, or None when the template does not parse (``reason`` says why)."""

    def __init__(self, message: str, *, placeholder: str | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.placeholder = placeholder
        self.reason = reason


def placeholder_list() -> str:
    return ", ".join(f"{{{p}}}" for p in sorted(PLACEHOLDERS))


def check_template(template: str) -> None:
    """Raise ``TemplateError`` (a ``ValueError``) naming a placeholder the prompt cannot fill."""
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError as exc:
        raise TemplateError(f"prompt_template: {exc}", reason=str(exc)) from None
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise TemplateError(
            f"prompt_template: unknown placeholder {{{unknown[0]}}}; use {placeholder_list()}",
            placeholder=unknown[0],
        )


def build_prompt(
    *,
    template: str,
    kind: str,
    item: str,
    text: str = "",
    question: str = "",
    options: Sequence[tuple[str, str]] = (),
    categories: Sequence[str] = (),
    language: str = "en",
) -> str:
    chosen = template or DEFAULT_TEMPLATES.get(
        ("question" if kind == "question" else "text", language),
        DEFAULT_TEMPLATES[("question" if kind == "question" else "text", "en")],
    )
    values = {
        "item": item,
        "text": text,
        "question": question,
        "options": "\n".join(f"{code}. {label}" if label else code for code, label in options),
        "categories": ", ".join(categories),
    }
    return chosen.format_map(values)


@dataclass
class Answer:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    # Log-probabilities of the first answer token's alternatives, where the endpoint gave them.
    top_logprobs: dict[str, float] = field(default_factory=dict)


def call(
    *,
    url: str,
    api_style: str,
    model: str,
    prompt: str,
    key: str = "",
    timeout: float = 30.0,
    max_tokens: int = 16,
    top_logprobs: int = 20,
) -> Answer:
    """One request; raises :class:`EndpointError` (retryable for timeouts, 429 and 5xx)."""
    if api_style == "chat":
        body: dict[str, Any] = {
            "model": model,
            "messages": [{"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": max_tokens,
            "logprobs": True,
            "top_logprobs": top_logprobs,
        }
    else:
        body = {
            "model": model,
            "prompt": prompt,
            "temperature": 0,
            "max_tokens": max_tokens,
            "logprobs": top_logprobs,
        }
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read(1 << 20)
    except urllib.error.HTTPError as exc:
        retry = exc.code == 429 or exc.code >= 500
        raise EndpointError(f"HTTP {exc.code} from the endpoint", retry=retry) from None
    except TimeoutError:
        raise EndpointError(f"no answer within {timeout:g} s", retry=True) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            raise EndpointError(f"no answer within {timeout:g} s", retry=True) from None
        raise EndpointError(f"could not reach the endpoint ({reason})", retry=True) from None
    return parse_response(raw, api_style)


def parse_response(raw: bytes, api_style: str) -> Answer:
    try:
        data = json.loads(raw)
        choice = data["choices"][0]
        text = choice["message"]["content"] if api_style == "chat" else choice["text"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise EndpointError("the answer is not OpenAI-style JSON", retry=True) from None
    usage = data.get("usage") or {}
    top: dict[str, float] = {}
    logprobs = choice.get("logprobs") or {}
    if api_style == "chat" and isinstance(logprobs.get("content"), list) and logprobs["content"]:
        for alt in logprobs["content"][0].get("top_logprobs") or []:
            top[str(alt.get("token", "")).strip()] = float(alt.get("logprob", -math.inf))
    elif isinstance(logprobs.get("top_logprobs"), list) and logprobs["top_logprobs"]:
        first = logprobs["top_logprobs"][0] or {}
        top = {str(k).strip(): float(v) for k, v in first.items()}
    return Answer(
        text=str(text or ""),
        tokens_in=int(usage.get("prompt_tokens") or 0),
        tokens_out=int(usage.get("completion_tokens") or 0),
        top_logprobs=top,
    )


def _norm(value: str) -> str:
    return re.sub(r"[\s.:)\]\"'(*]+", " ", value).strip().lower()


def parse_choice(answer: str, names: Sequence[str], labels: Mapping[str, str] | None = None) -> str:
    """The option code or category the answer names: the first word that is one, or an
    option's text; empty when it names none (or several at the start)."""
    labels = labels or {}
    cleaned = _norm(answer)
    if not cleaned:
        return ""
    lookup = {_norm(n): n for n in names}
    if cleaned in lookup:
        return lookup[cleaned]
    first = cleaned.split(" ")[0]
    if first in lookup:
        return lookup[first]
    by_text = {_norm(t): code for code, t in labels.items() if t}
    if cleaned in by_text:
        return by_text[cleaned]
    found = [n for n in names if re.search(rf"(?<!\w){re.escape(_norm(n))}(?!\w)", cleaned)]
    return found[0] if len(found) == 1 else ""


def option_probabilities(top: Mapping[str, float], names: Sequence[str]) -> list[float] | None:
    """A distribution over ``names`` from the first token's log-probabilities (renormalised
    over the names it covers); None when it covers none."""
    values = [top.get(n, top.get(n.lower(), -math.inf)) for n in names]
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return None
    peak = max(finite)
    weights = [math.exp(v - peak) if math.isfinite(v) else 0.0 for v in values]
    total = sum(weights)
    return [w / total for w in weights]
