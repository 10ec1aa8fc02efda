"""Multiple-choice answer parsing that never guesses.

The official MMMU parser (``parse_multi_choice_response``) returns ``random.choice(all_choices)`` when
it finds no option letter; here "no letter found" is always ``None`` (scored wrong). Parsing works on
an extracted final answer (:func:`parse_choice`) and, as a fallback, on the tail of a whole response
(:func:`parse_choice_in_response`). All functions accept arbitrary text and never raise on it.

Rules learnt from the benchmarks' real outputs and official verdicts:

* a letter answer (``B``, ``(B)``, ``Option B``) is an option *letter* before it is an option *text*:
  We-Math options ``A. F; B. D; C. B; ...``, MathVista's ``['(c)', '(d)', '(a)', ...]`` and MathVision's
  ``$\text{B}$`` options have letters as texts, and the prompt asks for the letter;
* several letters (``(A),(B),(C)``, ``A and B``, ``A or E``, ``A B C``) answer no single-answer
  question: :func:`names_several_letters`, scored wrong (official MathVision / MathVista: wrong);
* a capital letter that starts a sentence is an article or a subject, not a choice (``A decrease in
  sunlight ...``, ``A is not the correct option``): an unbracketed leading letter counts only when a
  separator (``B.``, ``B:``, ``B)``) or nothing follows, or the rest is that option's text;
* lines that enumerate options (``(A) 35°`` / ``(B) 110°`` ..., an echoed prompt) are not answers
  (:func:`has_enumeration`); the official scorers mark such responses wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# Letters accepted when a multiple-choice row carries no option list (e.g. choices drawn in the image).
DEFAULT_LETTER_COUNT = 5
# The whole-response fallback only reads this many trailing characters.
FALLBACK_WINDOW = 2000

_LEADING_LETTER = re.compile(
    r"^(?:(?:the\s+)?(?:correct\s+)?(?:answer|option|choice)\s*(?:is\s*)?[:：]?\s*)?"
    r"[\(\[\{]?\s*([A-Za-z])\s*[\)\]\}]?(?:[.):：,]|\s|$)",
    re.IGNORECASE,
)
_PAREN_LETTER = re.compile(r"\(([A-Z])\)")
_SPACED_LETTER = re.compile(r"(?<=\s)([A-Z])(?=\s)")
_ANSWER_IS_LETTER = re.compile(
    r"\b(?:answer|option|choice)\b\s*(?:is\s*)?(?:[:：]\s*)?(?:\*\*)?\s*\(?([A-Z])\)?(?![A-Za-z])",
    re.IGNORECASE,
)
_LINE_LETTER = re.compile(r"^\s*(?:\*\*)?\(?([A-Z])\)?(?:\*\*)?[.):]?\s*(?:\*\*)?\s*$")
_NORM_SPACES = re.compile(r"\s+")
_STRIP_CHARS = " \t\n\r.,;:!?'\"*`$"


def allowed_letters(options: Sequence[str] | None, extra: str | None = None) -> list[str]:
    """Letters of the options (``A`` .. ), or A-E when there are none; ``extra`` (a gold letter) is kept."""
    n = len(options) if options else DEFAULT_LETTER_COUNT
    letters = list(LETTERS[: max(1, min(n, len(LETTERS)))])
    if extra and len(extra) == 1 and extra.upper() in LETTERS and extra.upper() not in letters:
        letters = list(LETTERS[: LETTERS.index(extra.upper()) + 1])
    return letters


def normalize_option_text(s: str) -> str:
    """Lower-case, collapse whitespace, drop math delimiters and surrounding punctuation."""
    s = s.replace("\\text{", "").replace("\\mathrm{", "") if "\\" in s else s
    s = s.replace("$", "").replace("{", "").replace("}", "") if ("$" in s or "{" in s) else s
    return _NORM_SPACES.sub(" ", s).strip(_STRIP_CHARS).lower()


def gold_letter(gold: str, options: Sequence[str] | None, letters: Sequence[str] | None = None) -> str | None:
    """The gold option letter: the gold itself if it is a letter (``B``, ``(B)``), else the letter of
    the option whose text equals the gold (MathVista stores option text as the answer)."""
    if not isinstance(gold, str):
        return None
    g = gold.strip().strip("()").strip().upper()
    letters = list(letters) if letters else allowed_letters(options, g if len(g) == 1 else None)
    if len(g) == 1 and g in letters:
        return g
    if options:
        target = normalize_option_text(gold)
        hits = [LETTERS[i] for i, opt in enumerate(options) if i < len(LETTERS) and normalize_option_text(str(opt)) == target]
        if len(hits) == 1:
            return hits[0]
    return None


def _match_option_text(span_norm: str, options: Sequence[str] | None) -> str | None:
    """Letter of the unique option whose text equals, or is contained in, the normalized span."""
    if not options or not span_norm:
        return None
    norms = [normalize_option_text(str(o)) for o in options[: len(LETTERS)]]
    exact = [i for i, o in enumerate(norms) if o and o == span_norm]
    if len(exact) == 1:
        return LETTERS[exact[0]]
    if len(exact) > 1:
        return None
    total = sum(len(o) for o in norms)
    if len(span_norm) > 2 * total + 20:  # far longer than the options: a discussion, not an answer
        return None
    contained = [i for i, o in enumerate(norms) if len(o) >= 2 and _contains_token(span_norm, o)]
    # Drop options whose text is a substring of another contained option ("12" vs "123").
    contained = [i for i in contained if not any(j != i and norms[i] in norms[j] for j in contained)]
    if len(contained) == 1:
        return LETTERS[contained[0]]
    return None


def _contains_token(haystack: str, needle: str) -> bool:
    """``needle`` occurs in ``haystack`` not glued to letters/digits on either side."""
    start = 0
    while True:
        i = haystack.find(needle, start)
        if i < 0:
            return False
        before = haystack[i - 1] if i > 0 else " "
        j = i + len(needle)
        after = haystack[j] if j < len(haystack) else " "
        if not before.isalnum() and not after.isalnum():
            return True
        start = i + 1


_BARE_LETTER = re.compile(
    r"(?:(?:the\s+)?(?:correct\s+|final\s+|best\s+)?(?:answer|option|choice)\s*(?:is\s*)?[:：]?\s*)?"
    r"[\(\[\{]?\s*([A-Za-z])\s*[\)\]\}]?\s*[.:：]?",
    re.IGNORECASE,
)
_LETTER_TOKEN = r"(?:\(\s*[A-Z]\s*\)|\[\s*[A-Z]\s*\]|[A-Z])"
_SEVERAL_LETTERS = re.compile(
    r"(?:(?:the\s+)?(?:correct\s+|final\s+)?(?:answers?|options?|choices?)\s*(?:are|is)?\s*[:：]?\s*)?"
    rf"{_LETTER_TOKEN}(?:\s*(?:,|;|/|&|\band\b|\bor\b|\s)\s*(?:\band\b|\bor\b)?\s*{_LETTER_TOKEN})+\s*[.]?",
    re.IGNORECASE,
)
_ENUM_LINE = re.compile(r"^[ \t]*(?:\(([A-Z])\)|([A-Z])[.)])(?:[ \t]+\S.*)?[ \t]*$", re.MULTILINE)
# at most this many words for a span whose space-delimited letter counts as the answer ("so B")
_SHORT_SPAN_WORDS = 3


def bare_letter(span: str | None) -> str | None:
    """The letter when the whole answer is just a letter (``B``, ``(B)``, ``B.``, ``Option B``,
    ``**B**``); lower case only as a single character. None otherwise."""
    if not isinstance(span, str):
        return None
    body = span.strip().strip("*`$ \t\n")
    if len(body) > 40:
        return None
    m = _BARE_LETTER.fullmatch(body)
    if not m:
        return None
    letter = m.group(1)
    if letter.islower() and len(body.strip("()[]{}.:： ")) != 1:
        return None
    return letter.upper()


def names_several_letters(span: str | None, letters: Sequence[str] | None = None) -> bool:
    """True when the answer is a list of two or more different option letters (``(A),(B),(C)``,
    ``A and B``, ``A or E``, ``A B C``)."""
    if not isinstance(span, str):
        return False
    body = span.strip().strip("*`$ \t\n")
    if len(body) > 200 or not _SEVERAL_LETTERS.fullmatch(body):
        return False
    found = {c for c in re.findall(r"(?<![A-Za-z])([A-Z])(?![A-Za-z])", body)}
    if letters:
        found &= set(letters)
    return len(found) >= 2


def has_enumeration(text: str | None) -> bool:
    """Whether ``text`` lists options line by line (two or more lines ``(A) ...`` / ``B. ...`` with
    different letters), e.g. an echoed prompt."""
    if not isinstance(text, str) or "\n" not in text:
        return False
    seen = set()
    for m in _ENUM_LINE.finditer(text[-FALLBACK_WINDOW * 4:]):
        seen.add(m.group(1) or m.group(2))
        if len(seen) >= 2:
            return True
    return False


def _without_enumeration(text: str) -> str:
    return _ENUM_LINE.sub("", text) if has_enumeration(text) else text


def parse_choice(span: str | None, options: Sequence[str] | None, letters: Sequence[str] | None = None) -> str | None:
    """Option letter named by an extracted answer ``span``, or None (never a guess).

    Rules, in order: the span is just a letter (``B``, ``(B)``, ``Option B``) -> that letter, even when
    an option's text is also a letter; several letters -> None; the span lists options line by line ->
    None; the span equals an option's text (normalized) -> its letter; the span starts with a choice
    letter followed by a separator (``B. 12 m``, ``(B) 12``, ``B: ...``) or by that option's text; the
    official MMMU candidates (``(X)``, then a space-delimited ``X`` in spans of at most
    :data:`_SHORT_SPAN_WORDS` words; last occurrence wins); the unique option whose text occurs in
    the span.
    """
    if not isinstance(span, str):
        return None
    s = span.strip()[:FALLBACK_WINDOW]
    if not s:
        return None
    letters = list(letters) if letters else allowed_letters(options)
    bare = bare_letter(s)
    if bare is not None:
        return bare if bare in letters else None
    if names_several_letters(s, letters) or has_enumeration(s):
        return None
    norm = normalize_option_text(s)
    norms = [normalize_option_text(str(o)) for o in options[: len(LETTERS)]] if options else []
    if norms and norm:
        exact = [i for i, o in enumerate(norms) if o == norm]
        if len(exact) == 1 and LETTERS[exact[0]] in letters:
            return LETTERS[exact[0]]
    body = s.strip("*` \t\n")
    m = _LEADING_LETTER.match(body)
    if m:
        letter = m.group(1).upper()
        rest = body[m.end():]
        before = body[: m.start(1)].rstrip()
        named = before[:1] not in ("", "(", "[", "{")  # "answer is B", "Option B"
        separated = (before != "" and before[-1] in "([{") or named or m.group(0).rstrip()[-1] in ".):：,"
        same_text = bool(norms) and letter in LETTERS[: len(norms)] and normalize_option_text(rest) == norms[LETTERS.index(letter)]
        if m.group(1).isupper() and letter in letters and (separated or not rest.strip() or same_text):
            return letter
    found = _official_candidates(s, letters, spaced=len(s.split()) <= _SHORT_SPAN_WORDS)
    if found is not None:
        return found
    hit = _match_option_text(norm, options)
    if hit is not None and hit in letters:
        return hit
    return None


def _official_candidates(text: str, letters: Sequence[str], spaced: bool = True) -> str | None:
    """MMMU's ``(X)`` / `` X `` candidate rules on ``text``, last occurrence wins; None if no candidate."""
    padded = " " + text.strip(" ,.!?;:'") + " "
    allowed = set(letters)
    best, best_pos = None, -1
    for m in _PAREN_LETTER.finditer(padded):
        if m.group(1) in allowed and m.start() >= best_pos:
            best, best_pos = m.group(1), m.start()
    if best is not None or not spaced:
        return best
    for m in _SPACED_LETTER.finditer(padded):
        if m.group(1) in allowed and m.start() >= best_pos:
            best, best_pos = m.group(1), m.start()
    return best


def parse_choice_in_response(text: str | None, options: Sequence[str] | None, letters: Sequence[str] | None = None) -> str | None:
    """Fallback for responses without an extractable final answer: only strong signals in the last
    :data:`FALLBACK_WINDOW` characters, never a guess.

    In order: the last "answer is X" / "answer: (X)" / "option X"; a last non-empty line that is just a
    letter (``B``, ``(B).``); the last ``(X)``. Lines that enumerate options (:func:`has_enumeration`)
    are not read.
    """
    if not isinstance(text, str):
        return None
    tail = _without_enumeration(text[-FALLBACK_WINDOW:])
    letters = list(letters) if letters else allowed_letters(options)
    allowed = set(letters)
    last = None
    for m in _ANSWER_IS_LETTER.finditer(tail):
        letter = m.group(1)
        if letter.isupper() and letter in allowed:
            last = letter
    if last is not None:
        return last
    for line in reversed(tail.split("\n")):
        if line.strip():
            m = _LINE_LETTER.match(line)
            if m and m.group(1) in allowed:
                return m.group(1)
            break
    best = None
    for m in _PAREN_LETTER.finditer(tail):
        if m.group(1) in allowed:
            best = m.group(1)
    return best
