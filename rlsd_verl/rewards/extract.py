"""Final-answer extraction and format checks on model responses.

Every function here takes arbitrary model text and never raises on it; each runs in time linear in
the input length (no backtracking-prone regular expressions over the whole response), so a megabyte
response costs milliseconds.

Extraction order (:func:`extract_final_answer`):

1. the content of the last closed ``<answer> ... </answer>`` tag (a ``\\boxed{}`` inside it is
   unwrapped);
2. else the content of the last brace-matched ``\\boxed{...}`` / ``\\fbox{...}`` - or, when the last
   ``\\boxed{`` is never closed (``... is \\boxed{D.`` at the end), what follows it when that box is
   plain (short, no ``{``, not nested in another unclosed brace); a final box that is cut off and not
   plain ends the search with no answer (a truncated, degenerate response earns nothing);
3. else the text after the last "answer:" / "final answer:" / "the answer is" in the last
   :data:`ANSWER_LINE_WINDOW` characters (the same marker inside an ``<answer>`` tag is also cut:
   ``<answer>The answer is 5</answer>`` gives ``5``);
4. else, only when asked (ZeroBench's "{final answer}" convention), the last bare ``{...}`` group at
   the end of the response;
5. else, for short responses (at most :data:`SHORT_RESPONSE_CHARS` characters, e.g. answers to the
   benchmarks' native "answer with a single word or phrase" prompts) the whole stripped response.
"""

from __future__ import annotations

import bisect
import re

# Longest extracted answer kept for grading (longer spans are cut to this prefix).
MAX_ANSWER_CHARS = 1000
# The "answer:" line is searched for in this many trailing characters of the response only.
ANSWER_LINE_WINDOW = 4000
# A response this short (after stripping) is itself the answer when nothing else is found.
SHORT_RESPONSE_CHARS = 300
# Longest content of an unclosed final \boxed{ that is read as the answer.
UNCLOSED_BOXED_CHARS = 100

_ANSWER_OPEN = re.compile(r"<\s*answer\s*>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"<\s*/\s*answer\s*>", re.IGNORECASE)
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACES = re.compile(r"[{}]")
# "answer:" / "final answer:" / "answer is" / "answer should be" (case-insensitive), value after it.
_ANSWER_MARKER = re.compile(
    r"\banswer\b\s*(?:\*\*)?\s*(?:[:：]|\bis\b\s*[:：]?|\bshould\s+be\b\s*[:：]?)", re.IGNORECASE
)
_WRAPPERS = re.compile(r"^\\(?:text|textbf|mathrm|mathbf|boxed|fbox|mbox|textit|mathit)\s*\{")


def _match_braces(text: str, opens: list[int]) -> dict[int, int]:
    """Positions of the ``}`` matching each ``{`` at the positions in ``opens`` (one linear pass)."""
    if not opens:
        return {}
    wanted = set(opens)
    out: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACES.finditer(text, opens[0]):
        pos = m.start()
        if text[pos] == "{":
            stack.append(pos)
        elif stack:
            start = stack.pop()
            if start in wanted:
                out[start] = pos
    return out


def last_boxed(text: str) -> str | None:
    """Content of the last brace-matched ``\\boxed{...}`` (or ``\\fbox{...}``); None if there is none.

    Unclosed ``\\boxed{`` occurrences (e.g. a truncated response) are skipped in favour of the last
    closed one.
    """
    if not isinstance(text, str) or "box" not in text:
        return None
    opens = [m.end() - 1 for m in _BOXED.finditer(text)]
    if not opens:
        return None
    closes = _match_braces(text, opens)
    for start in reversed(opens):
        end = closes.get(start)
        if end is not None:
            return text[start + 1 : end]
    return None


def answer_tag(text: str) -> str | None:
    """Content of the last closed ``<answer>...</answer>``; None if there is none."""
    if not isinstance(text, str):
        return None
    close = text.rfind("</answer>")
    if close >= 0:  # fast path: the exact lower-case tags
        open_ = text.rfind("<answer>", 0, close)
        if open_ >= 0 and not _ANSWER_OPEN.search(text, open_ + 8, close) and not _ANSWER_CLOSE.search(text, close + 9):
            return text[open_ + 8 : close]
    closes = [m.start() for m in _ANSWER_CLOSE.finditer(text)]
    if not closes:
        return None
    open_ends = [(m.start(), m.end()) for m in _ANSWER_OPEN.finditer(text)]
    for close in reversed(closes):
        # last "<answer>" that ends before this "</answer>"
        i = bisect.bisect_left(open_ends, (close, -1)) - 1
        while i >= 0 and open_ends[i][1] > close:
            i -= 1
        if i >= 0:
            return text[open_ends[i][1] : close]
    return None


def _answer_line(text: str) -> tuple[str | None, int]:
    """``(value, end)``: the value after the last "answer:"-style marker in the tail of ``text`` and the
    position in ``text`` where that value's line ends (``(None, -1)`` without a marker)."""
    if not isinstance(text, str):
        return None, -1
    offset = max(0, len(text) - ANSWER_LINE_WINDOW)
    tail = text[offset:]
    last = None
    for m in _ANSWER_MARKER.finditer(tail):
        last = m
    if last is None:
        return None, -1
    rest = tail[last.end() :]
    first, sep, after = rest.partition("\n")
    line, end = first.strip(), last.end() + len(first)
    if not line:
        # "Answer:\n42": take the next non-empty line.
        pos = last.end() + len(first) + len(sep)
        for nxt in after.split("\n"):
            if nxt.strip():
                line, end = nxt.strip(), pos + len(nxt)
                break
            pos += len(nxt) + 1
    return (line or None), offset + end


def answer_line(text: str) -> str | None:
    """Value after the last "answer:"-style marker in the tail of ``text`` (rest of that line)."""
    return _answer_line(text)[0]


def after_answer_line(text: str) -> str:
    """The response text after the line :func:`answer_line` reads ("" when there is none)."""
    line, end = _answer_line(text)
    return text[end:] if line is not None and end >= 0 else ""


def _depth_before(text: str, pos: int) -> int:
    """Number of ``{`` in ``text[:pos]`` still open at ``pos`` (one linear pass)."""
    depth = 0
    for m in _BRACES.finditer(text, 0, pos):
        if text[m.start()] == "{":
            depth += 1
        elif depth:
            depth -= 1
    return depth


def _unclosed_last_boxed(text: str) -> tuple[bool, str | None]:
    """``(unclosed, content)``: whether the last ``\\boxed{`` of ``text`` is never closed, and then its
    content when it reads as an answer.

    Only a plain final box is read: its content is at most :data:`UNCLOSED_BOXED_CHARS` characters
    without ``{``, and the box itself opens at brace depth 0 (every ``{`` before it is closed). A
    degenerate, truncated response such as ``\\boxed{\\boxed{...\\boxed{A`` (nested unclosed boxes)
    therefore yields no answer rather than ``A``.
    """
    if not isinstance(text, str) or "box" not in text:
        return False, None
    opens = [m.end() - 1 for m in _BOXED.finditer(text)]
    if not opens:
        return False, None
    last = opens[-1]
    if _match_braces(text, [last]).get(last) is not None:
        return False, None
    rest = text[last + 1 :].strip()
    if not rest or len(rest) > UNCLOSED_BOXED_CHARS or "{" in rest or _depth_before(text, last):
        return True, None
    return True, rest


def unclosed_boxed_tail(text: str) -> str | None:
    """The content of a ``\\boxed{`` that is the last one in ``text`` and never closed (``... the answer
    is \\boxed{D.`` at the end of a response), when it reads as an answer; else None."""
    return _unclosed_last_boxed(text)[1]


def trailing_braces(text: str) -> str | None:
    """Content of a bare ``{...}`` group that ends the response (ZeroBench's answer convention)."""
    if not isinstance(text, str):
        return None
    s = text.rstrip().rstrip(".").rstrip()
    if not s.endswith("}"):
        return None
    depth = 0
    # Scan backwards for the matching "{" (bounded by the answer size we keep anyway).
    for i in range(len(s) - 1, max(-1, len(s) - 1 - MAX_ANSWER_CHARS), -1):
        ch = s[i]
        if ch == "}":
            depth += 1
        elif ch == "{":
            depth -= 1
            if depth == 0:
                if i > 0 and (s[i - 1].isalpha() or s[i - 1] == "\\"):
                    return None  # a LaTeX argument such as \frac{..}{..}, not a bare group
                return s[i + 1 : -1]
    return None


def _strip_wrappers(s: str) -> str:
    """Remove one layer of whole-span ``\\text{}``/``\\boxed{}``-like wrappers, repeatedly."""
    for _ in range(8):
        m = _WRAPPERS.match(s)
        if not m or not s.endswith("}"):
            break
        inner_start = m.end() - 1
        closes = _match_braces(s, [inner_start])
        if closes.get(inner_start) != len(s) - 1:
            break
        s = s[m.end() : -1].strip()
    return s


def clean_answer(span: str) -> str:
    """Trim an extracted answer: whitespace, markdown emphasis, math delimiters, wrappers, final period."""
    s = span[:MAX_ANSWER_CHARS].strip()
    for _ in range(4):
        before = s
        s = s.strip().strip("*").strip()
        for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"), ("`", "`")):
            if len(s) >= len(left) + len(right) and s.startswith(left) and s.endswith(right):
                s = s[len(left) : len(s) - len(right)].strip()
        s = _strip_wrappers(s)
        if s.endswith(".") and not s.endswith(".."):
            s = s[:-1].rstrip()
        if s == before:
            break
    return s


def _after_marker(span: str) -> str:
    """``"The answer is 5"`` -> ``"5"``: the text after the last answer marker inside a span."""
    last = None
    for m in _ANSWER_MARKER.finditer(span[:MAX_ANSWER_CHARS]):
        last = m
    if last is None:
        return span
    rest = span[last.end() :].strip()
    return rest or span


def extract_final_answer(text: str, *, bare_braces: bool = False) -> tuple[str | None, str]:
    """Return ``(answer, method)``; ``answer`` is None (method ``""``) when nothing was found.

    ``method`` is one of ``answer_tag``, ``boxed_unclosed``, ``boxed``, ``answer_line``, ``braces``,
    ``short_response``.
    """
    if not isinstance(text, str) or not text.strip():
        return None, ""
    tag = answer_tag(text)
    if tag is not None:
        inner = last_boxed(tag)
        span = inner if inner is not None else _after_marker(tag)
        return clean_answer(span), "answer_tag"
    unclosed, content = _unclosed_last_boxed(text)
    if content is not None:
        return clean_answer(content), "boxed_unclosed"
    if unclosed:  # a cut-off final box that is not plain: no answer (the earlier boxes are not final)
        return None, ""
    boxed = last_boxed(text)
    if boxed is not None:
        return clean_answer(boxed), "boxed"
    line = answer_line(text)
    if line is not None:
        inner = last_boxed(line)
        return clean_answer(inner if inner is not None else line), "answer_line"
    if bare_braces:
        braces = trailing_braces(text)
        if braces is not None:
            return clean_answer(braces), "braces"
    stripped = text.strip()
    if len(stripped) <= SHORT_RESPONSE_CHARS:
        return clean_answer(stripped), "short_response"
    return None, ""


# ----------------------------------------------------------------------------------------------
# Format checks (linear: plain substring searches, no ".*" regexes over the response)
# ----------------------------------------------------------------------------------------------

FORMAT_STYLES = ("any", "think_boxed", "thought_answer")


def _reasoning_then(text: str, tag: str) -> int:
    """Index just after ``</tag>`` when the stripped text starts with ``<tag>`` and closes it; else -1."""
    s = text.lstrip()
    offset = len(text) - len(s)
    if not s.startswith(f"<{tag}>"):
        return -1
    close = s.find(f"</{tag}>", len(tag) + 2)
    if close < 0:
        return -1
    return offset + close + len(tag) + 3


def _has_boxed_after(text: str, pos: int) -> bool:
    b = text.find("\\boxed{", pos)
    return b >= 0 and text.find("}", b + 7) >= 0


def _ends_with_answer_tag(text: str, pos: int) -> bool:
    s = text.rstrip()
    if not s.endswith("</answer>"):
        return False
    open_pos = text.find("<answer>", pos)
    return 0 <= open_pos < len(s) - len("</answer>")


def check_format(text: str, style: str = "any") -> bool:
    """Whether ``text`` follows the prompt's output format.

    ``think_boxed``: verl geo3k's ``<think>...</think>...\\boxed{...}...``;
    ``thought_answer``: RLSD's ``<thought>...</thought>...<answer>...</answer>`` (the response ends
    with ``</answer>``); ``any``: either, with ``<think>`` and ``<thought>`` interchangeable.
    """
    if not isinstance(text, str):
        return False
    if style == "think_boxed":
        pos = _reasoning_then(text, "think")
        return pos >= 0 and _has_boxed_after(text, pos)
    if style == "thought_answer":
        pos = _reasoning_then(text, "thought")
        return pos >= 0 and _ends_with_answer_tag(text, pos)
    if style == "any":
        for tag in ("think", "thought"):
            pos = _reasoning_then(text, tag)
            if pos >= 0 and (_has_boxed_after(text, pos) or _ends_with_answer_tag(text, pos)):
                return True
        return False
    raise ValueError(f"unknown format_style {style!r}; choose one of {FORMAT_STYLES}")
