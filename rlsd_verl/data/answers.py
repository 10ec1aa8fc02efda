"""Parsing of option lists and gold answers (no ``eval``), and the rule-verifiability test.

* :func:`parse_list_literal` reads MMMU's stringified Python lists (``"['$6', '$7']"``) with
  ``ast.literal_eval`` only (which evaluates literals, never code) and checks it is a list of strings.
* :func:`repair_escapes` undoes the lost-backslash corruption seen in MathVision golds (id 2830:
  ``"\\x0crac{36}{13}"`` is ``"\\frac{36}{13}"`` whose ``\\f`` became a form feed).
* :func:`clean_gold` strips presentation wrappers (``$...$``, ``\\boxed{...}``) from a gold.
* :func:`parse_lettered_options` splits ``"A. 200.96;B. 3215.36;C. 6280"`` (We-Math) and
  :func:`options_from_text` finds ``A. ...`` / ``(A) ...`` option lines inside a question text.
* :func:`verifiable_kind` classifies a gold as ``letter`` / ``yes_no`` / ``number`` / ``expression``
  (rule-checkable with ``mathruler`` / ``math_verify``) or ``None`` (free text: not kept for RLVR).
"""

from __future__ import annotations

import ast
import re

_LETTER_RE = re.compile(r"^\(?([A-Z])\)?[.:]?$")


def parse_list_literal(text, what: str) -> list[str]:
    """Parse a stringified list of strings (or pass through an actual list); ``ValueError`` naming ``what``."""
    if isinstance(text, (list, tuple)):
        value = list(text)
    else:
        if not isinstance(text, str):
            raise ValueError(f"{what}: expected a stringified list, got {type(text).__name__}")
        src = text.strip()
        if not (src.startswith("[") and src.endswith("]")):
            raise ValueError(f"{what}: expected a stringified list like \"['a', 'b']\", got {text!r:.120}")
        try:
            value = ast.literal_eval(src)
        except (ValueError, SyntaxError, MemoryError, RecursionError) as e:
            raise ValueError(f"{what}: cannot parse {text!r:.120} as a list literal: {e}") from None
        if not isinstance(value, list):
            raise ValueError(f"{what}: {text!r:.120} is not a list")
    out = []
    for i, v in enumerate(value):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = str(v)
        if not isinstance(v, str):
            raise ValueError(f"{what}: element {i} is {type(v).__name__}, expected a string")
        out.append(v)
    return out


def parse_gold_list(answer: str) -> list[str]:
    """MMMU open answers: ``"['24/7', '3.429']"`` -> both golds; a plain string -> ``[answer]``."""
    s = answer.strip()
    if s.startswith("[") and s.endswith("]"):
        try:
            golds = parse_list_literal(s, "answer")
        except ValueError:
            return [answer]
        golds = [g.strip() for g in golds if g.strip()]
        return golds or [answer]
    return [answer]


# Control characters that appear when a LaTeX backslash escape was interpreted by a string parser.
_ALWAYS = {"\x0c": "\\f", "\x08": "\\b", "\x07": "\\a", "\x0b": "\\v"}
_BEFORE_LETTER = {"\t": "\\t", "\r": "\\r"}


def repair_escapes(text: str) -> str:
    """``"\\x0crac{36}{13}"`` -> ``"\\frac{36}{13}"`` (also ``\\b``, ``\\a``, ``\\v``; ``\\t``/``\\r`` before a letter)."""
    for bad, good in _ALWAYS.items():
        text = text.replace(bad, good)
    for bad, good in _BEFORE_LETTER.items():
        text = re.sub(re.escape(bad) + r"(?=[A-Za-z])", lambda m, g=good: g, text)
    return text


def _unwrap_boxed(s: str) -> str:
    m = re.fullmatch(r"\\boxed\{(.*)\}", s, flags=re.S)
    if not m:
        return s
    inner = m.group(1)
    depth = 0
    for ch in inner:  # only unwrap when the braces of the content balance
        depth += ch == "{"
        depth -= ch == "}"
        if depth < 0:
            return s
    return inner if depth == 0 else s


def clean_gold(answer: str) -> str:
    """Strip ``$...$`` and a whole-answer ``\\boxed{...}`` (repeatedly); whitespace-trimmed."""
    s = answer.strip()
    for _ in range(3):
        prev = s
        if len(s) >= 2 and s.startswith("$") and s.endswith("$"):
            s = s.strip("$").strip()
        s = _unwrap_boxed(s).strip()
        if s == prev:
            break
    return s or answer.strip()


def letter_of(answer: str) -> str | None:
    """``"B"``, ``"(B)"``, ``"B."`` -> ``"B"``; anything else -> None."""
    m = _LETTER_RE.match(answer.strip())
    return m.group(1) if m else None


_LETTERED_SPLIT = re.compile(r"(?:^|;)\s*([A-Z])\s*[.．:：]\s*")
# A marker "X." that starts an option: at the start, or after ";" / whitespace, followed by text
# (not by ";" or the end: "point ;O.;B. ..." has the letter O inside option A's text).
_MARKER = r"(?:^|(?<=[;\s]))\s*{letter}\s*[.．:：](?!\s*(?:;|$))\s*"
_STRAY_SEMICOLON = re.compile(r";(?=[A-Z][.．])")
NO_CORRECT_ANSWER = "No correct answer"
_LATE_NO_CORRECT = re.compile(_MARKER.format(letter="([A-Z])") + re.escape(NO_CORRECT_ANSWER) + r"\W*$")


def _split_strict(src: str) -> list[str] | None:
    """``A. x;B. y;C. z`` split at ``;`` markers; None unless the letters run A, B, C, ... exactly."""
    matches = list(_LETTERED_SPLIT.finditer(src))
    if len(matches) < 2 or matches[0].start() != 0:
        return None
    if [m.group(1) for m in matches] != [chr(65 + i) for i in range(len(matches))]:
        return None
    return [src[m.end():(matches[i + 1].start() if i + 1 < len(matches) else len(src))].strip().rstrip(";").strip()
            for i, m in enumerate(matches)]


def _split_sequential(src: str) -> tuple[list[str], dict[str, str]] | None:
    """Find A., then the first B. after it, then C., ... (markers after ``;`` or a space, followed by
    text). A last ``X. No correct answer`` whose letter skips ahead (``C. No.; F. No correct answer``)
    is taken as the next option. Returns the option texts and ``{source letter: our letter}`` for
    relabelled options, or None."""
    first = re.compile(_MARKER.format(letter="A")).match(src)
    if not first:
        return None
    starts, ends, relabel = [0], [first.end()], {}
    while True:
        nxt = chr(65 + len(starts))
        m = re.compile(_MARKER.format(letter=nxt)).search(src, ends[-1])
        if m is None:
            late = _LATE_NO_CORRECT.search(src, ends[-1])
            if late is None or late.group(1) <= nxt:
                break
            relabel[late.group(1)] = nxt
            starts.append(late.start())
            ends.append(late.end() - len(late.group(0)) + late.group(0).index(NO_CORRECT_ANSWER))
            break
        starts.append(m.start())
        ends.append(m.end())
    if len(starts) < 2:
        return None
    texts = [src[ends[i]:(starts[i + 1] if i + 1 < len(starts) else len(src))] for i in range(len(starts))]
    return [t.strip().rstrip(";").strip() for t in texts], relabel


def parse_lettered_options(text: str, what: str, *, repairs: list | None = None) -> list[str]:
    """``"A. 200.96;B. 3215.36;C. 6280;D. 32; E. No correct answer"`` -> the five option texts.

    The plain ``;``-separated form is read first. Real We-Math strings that break it are read by
    looking for A., B., C., ... in turn: a ``;`` inside an option's text (``point ;O.`` - the release
    put a ``;`` before a capital letter and a period; it is removed: ``point O.``), options run together
    (``A. 45° B. 60° ;C. 120°``) and a final "No correct answer" option whose letter skips ahead
    (``C. No.; F. No correct answer`` -> it becomes option D). Each repair is appended to ``repairs``
    (``"stray_semicolon"``, ``"sequential_markers"``, ``"relabelled:F->D"``). ``ValueError`` naming
    ``what`` when no option list can be read.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{what}: empty option string")
    src = text.strip()
    opts = _split_strict(src)
    if opts is None:
        found = _split_sequential(src)
        if found is None:
            raise ValueError(f"{what}: cannot read lettered options 'A. ...; B. ...' from {text!r:.160}")
        opts, relabel = found
        if repairs is not None:
            repairs.append("sequential_markers")
            repairs.extend(f"relabelled:{a}->{b}" for a, b in relabel.items())
    fixed = [_STRAY_SEMICOLON.sub("", o) for o in opts]
    if fixed != opts and repairs is not None:
        repairs.append("stray_semicolon")
    if any(not o for o in fixed):
        raise ValueError(f"{what}: an option is empty in {text!r:.160}")
    return fixed


def relabelled_letter(repairs: list, letter: str) -> str:
    """The letter an answer refers to after :func:`parse_lettered_options` relabelled its options."""
    for r in repairs:
        if r.startswith("relabelled:") and r[len("relabelled:")] == letter:
            return r.split("->")[1]
    return letter


_OPTION_LINE = re.compile(r"^\s*(?:\(([A-J])\)|([A-J])[.．:：)])\s*(.*?)\s*$")


def options_from_text(text: str) -> list[str] | None:
    """Option texts from ``A. x`` / ``(A) x`` / ``A) x`` lines in a question (A, B, ... in order, >= 2).

    Returns None when the question has no such contiguous option list.
    """
    found: dict[str, str] = {}
    for line in text.splitlines():
        m = _OPTION_LINE.match(line)
        if m:
            letter = m.group(1) or m.group(2)
            if letter not in found:
                found[letter] = m.group(3)
    if len(found) < 2:
        return None
    letters = sorted(found)
    if letters != [chr(65 + i) for i in range(len(letters))]:
        return None
    return [found[letter] for letter in letters]


_INLINE_A = re.compile(r"(?:^|(?<=[\s(:：;]))A\s*[.．:：)]")


def inline_options(text: str) -> list[str] | None:
    """Options written on one line inside a question (``Choices: A.256; B.512; C.944``), or None.

    Tries each ``A.`` marker from the last one back and reads A., B., C., ... in turn to the end of
    that line (the sequential reader of :func:`parse_lettered_options`); at least two options.
    """
    for m in reversed(list(_INLINE_A.finditer(text))):
        line_end = text.find("\n", m.start())
        segment = text[m.start(): line_end if line_end >= 0 else len(text)]
        found = _split_strict(segment) or (_split_sequential(segment) or (None, None))[0]
        if found and len(found) >= 2 and all(found):
            return [o.rstrip(".;,").strip() or o for o in found]
    return None


_PART_SPLIT = re.compile(r"\s{2,}|\n|\t")


def gold_parts(answer: str) -> list[str]:
    """The parts of a multi-part gold (``'2     4:1'`` -> ``['2', '4:1']``: answers to several
    sub-questions, separated by runs of whitespace or new lines); a single answer gives one part."""
    return [p for p in _PART_SPLIT.split(answer.strip()) if p.strip()]


def option_index_of_content(gold: str, options: list[str]) -> int | None:
    """Index of the one option whose text equals ``gold`` (case, spacing, ``$`` and a final period
    ignored); None when none or several do."""
    def norm(x: str) -> str:
        return re.sub(r"\s+", " ", x.replace("$", "")).strip().rstrip(".").strip().lower()

    g = norm(gold)
    hits = [i for i, o in enumerate(options) if norm(o) == g]
    return hits[0] if len(hits) == 1 else None


_NUMBER = re.compile(
    r"^[-+−]?\s*(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?\s*(?:%|\\%|°|\^\\circ|\^\{\\circ\})?$"
)
_FRACTION = re.compile(r"^[-+]?\d+\s*/\s*\d+$")
_YES_NO = {"yes", "no", "true", "false"}
_MATH_CHARS = re.compile(r"[\d\\^_=+\-*/(){}\[\]]")
_WORD = re.compile(r"[A-Za-z]{4,}")
_LATEX_CMD = re.compile(r"\\[A-Za-z]+")


def verifiable_kind(answer: str) -> str | None:
    """``letter`` / ``yes_no`` / ``number`` / ``expression`` for golds a rule can check, else None.

    ``expression``: a short math expression (digits or LaTeX, at most 64 characters, no plain-English
    words outside LaTeX commands) that ``math_verify.parse`` can read when it is installed.
    """
    s = clean_gold(answer)
    if not s:
        return None
    if letter_of(s):
        return "letter"
    if s.lower().rstrip(".") in _YES_NO:
        return "yes_no"
    if any(ch.isdigit() for ch in s) and (_NUMBER.match(s) or _FRACTION.match(s)):
        return "number"
    if len(s) > 64 or "\n" in s:
        return None
    if _WORD.search(_LATEX_CMD.sub(" ", s).replace("\\text", " ")):
        return None
    if not _MATH_CHARS.search(s):
        return None
    try:
        from math_verify import parse
    except ImportError:  # pragma: no cover - math_verify is a dependency
        return "expression"
    import threading

    # math_verify's timeout uses signal.alarm, which only works in the main thread.
    timeout = 5 if threading.current_thread() is threading.main_thread() else None
    try:
        parsed = parse(f"${s}$", parsing_timeout=timeout)
    except Exception:  # noqa: BLE001
        return None
    return "expression" if parsed else None
