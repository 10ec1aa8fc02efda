"""Scorer-agreement set: real-style responses per benchmark, with the verdict the official scorer gives.

Written for this project (no benchmark file is copied): each case reproduces a pattern seen in the
benchmarks' published model outputs and official verdicts. ``official`` is the official scorer's
verdict (``None``: it guesses at random); ``ours`` is what ``compute_score`` must give. Where they
differ, ``why`` says why the difference is deliberate (see "Where we differ from the official
scorers" in ``rlsd_verl/rewards/README.md``).

Official rules used for the verdicts:

* MathVision (``evaluation/evaluate.py`` + ``utils.py``): the model answer (``\\boxed{}`` content, or the
  text after "the answer is") must equal the gold letter or the gold option's value; numbers are
  compared after rounding to 2 decimals (the published verdicts reject different exact values).
* MathVista (``evaluation/calculate_score.py``): the extracted answer; a letter names its choice, other
  text goes to the nearest choice by edit distance; integer answers ``int(float(x))``, floats rounded to
  the row's precision; then exact comparison with the answer.
* MMMU (``mmmu/utils/eval_utils.py``): ``(X)`` / `` X `` candidates, option text in answers of more than
  5 words, a random choice when nothing is found; open answers: numbers rounded to 2 decimals, string
  golds as substrings.
* We-Math: the chosen option letter against the answer letter.
* ZeroBench: the final ``{...}`` answer against the gold, exact match.
"""

from __future__ import annotations

MV = "MathLLMs/MathVision"
MVISTA = "AI4Math/MathVista"
MMMU = "MMMU/MMMU"
WEMATH = "We-Math/We-Math"
ZB = "jonathan-roberts1/zerobench_subquestions"

LETTERS5 = ["A", "B", "C", "D", "E"]
MC = "multiple_choice"
FF = "free_form"


def mc(options, gold, golds=None):
    return {"question_type": MC, "options": list(options), "gold_answers": golds or [gold]}


def ff(*golds):
    return {"question_type": FF, "options": [], "gold_answers": list(golds)}


# (benchmark, data_source, response, ground_truth, extra_info, official, ours, why)
CASES = [
    # ------------------------------------------------------------------------------- MathVision
    ("MathVision", MV, "The pieces are (A), (B) and (C).\n\\boxed{(A),(B),(C)}", "A", mc(LETTERS5, "A"), False, False, ""),
    ("MathVision", MV, "Blocks A and B fit together.\n\n\\boxed{A and B}", "A", mc(LETTERS5, "A"), False, False, ""),
    ("MathVision", MV, "It could be any of them. \\boxed{A, B, C, D, E}", "B", mc(LETTERS5, "B"), False, False, ""),
    ("MathVision", MV, "A C E", "A", mc(LETTERS5, "A"), False, False, ""),
    ("MathVision", MV, "So the area is $\\frac{1}{2}$. The answer is \\boxed{D.", "D",
     mc(["$1$", "$2$", "$3$", "$\\frac{1}{2}$", "$4$"], "D"), True, True, ""),
    ("MathVision", MV, "\\boxed{D}", "D", mc(LETTERS5, "D"), True, True, ""),
    ("MathVision", MV, "<thought>...</thought>\n<answer>B</answer>", "A",
     mc(["$\\text{B}$", "$\\text{G}$", "$\\text{O}$", "$\\text{R}$", "$\\text{Y}$"], "A"), False, False, ""),
    ("MathVision", MV, "<thought>...</thought>\n<answer>A</answer>", "A",
     mc(["$\\text{B}$", "$\\text{G}$", "$\\text{O}$", "$\\text{R}$", "$\\text{Y}$"], "A"), True, True, ""),
    ("MathVision", MV, "The ratio is 2/3", "\\frac{121}{180}", ff("\\frac{121}{180}"), False, False, ""),
    ("MathVision", MV, "Hence $a_n = \\boxed{\\frac{1}{3}}$.", "\\frac{3^{1008}-1}{3^{1009}}",
     ff("\\frac{3^{1008}-1}{3^{1009}}"), False, False, ""),
    ("MathVision", MV, "\\boxed{0.67}", "\\frac{2}{3}", ff("\\frac{2}{3}"), True, True, ""),
    ("MathVision", MV, "\\boxed{\\frac{36}{13}}", "\\frac{36}{13}", ff("\\frac{36}{13}"), True, True, ""),
    ("MathVision", MV, "The area is \\boxed{\\frac{1}{2}}", "D",
     mc(["$1$", "$2$", "$3$", "$\\frac{1}{2}$", "$4$"], "D"), True, True, ""),
    # -------------------------------------------------------------------------------- MathVista
    ("MathVista", MVISTA, "<answer>1.50</answer>", "2", ff("2"), False, False, ""),
    ("MathVista", MVISTA, "<answer>-7.5</answer>", "-8", ff("-8"), False, False, ""),
    ("MathVista", MVISTA, "<answer>2/3</answer>", "1", ff("1"), False, False, ""),
    ("MathVista", MVISTA, "<answer>2.0</answer>", "2", ff("2"), True, True, ""),
    ("MathVista", MVISTA, "<answer>1.449</answer>", "1.45", ff("1.45"), True, True, ""),
    ("MathVista", MVISTA, "<answer>1.46</answer>", "1.45", ff("1.45"), False, False, ""),
    ("MathVista", MVISTA, "<answer>2.7</answer>", "2", ff("2"), True, False,
     "official int(float(x)) truncates 2.7 to 2; an integer answer must be that integer"),
    ("MathVista", MVISTA, "<thought>...</thought>\n<answer>(D)</answer>", "D",
     mc(["(c)", "(d)", "(a)", "(b)", "(e)"], "D"), True, True, ""),
    ("MathVista", MVISTA, "<answer>D</answer>", "C", mc(["9", "12", "18", "18"], "C", ["C", "D"]), True, True, ""),
    ("MathVista", MVISTA, "<answer>B</answer>", "C", mc(["9", "12", "18", "18"], "C", ["C", "D"]), False, False, ""),
    ("MathVista", MVISTA, "A decrease in sunlight would affect the owl most.", "A",
     mc(["grass", "mouse", "grasshopper", "owl"], "A"), False, False, ""),
    ("MathVista", MVISTA, "A is not the correct option. The angle is 100°.", "A",
     mc(["25°", "30°", "40°", "50°"], "A"), False, False, ""),
    ("MathVista", MVISTA, "Is it larger?\nChoices:\n(A) yes\n(B) no\nQuestion: Is it smaller?\nChoices:\n(A) yes\n(B) no",
     "B", mc(["yes", "no"], "B"), False, False, ""),
    ("MathVista", MVISTA, "The answer is (B) 3.\n\nQuestion: what is the area?\nChoices:\n(A) 2\n(B) 3\n(C) 4\n(D) 5",
     "B", mc(["2", "3", "4", "5"], "B"), False, False, ""),
    ("MathVista", MVISTA, "Checking each choice:\n(A) 35° is too small\n(B) 110° is too large\nThe answer is (A).",
     "A", mc(["35°", "110°"], "A"), True, True, ""),
    ("MathVista", MVISTA, "<answer>145°</answer>", "D", mc(["35°", "110°", "135°", "145°"], "D"), True, True, ""),
    ("MathVista", MVISTA, "<answer>146°</answer>", "D", mc(["35°", "110°", "135°", "145°"], "D"), True, False,
     "official maps any text to the nearest choice by edit distance; we never guess a choice"),
    # ------------------------------------------------------------------------------------- MMMU
    ("MMMU", MMMU, "<answer>B</answer>", "B", mc(["$6", "$7", "$8", "$9"], "B"), True, True, ""),
    ("MMMU", MMMU, "(B) $7", "B", mc(["$6", "$7", "$8", "$9"], "B"), True, True, ""),
    ("MMMU", MMMU, "We refer to the accounts. The per unit overhead cost incurred is $7.", "B",
     mc(["$6", "$7", "$8", "$9"], "B"), True, False,
     "official finds option text inside long answers; we read only a named letter or an exact option text"),
    ("MMMU", MMMU, "I cannot tell from the image.", "C", mc(["1.17", "1.57", "0.87"], "C"), None, False,
     "official picks a random letter when none is found; we score no answer as wrong"),
    ("MMMU", MMMU, "<answer>3.004</answer>", "3", ff("3"), True, True, ""),
    ("MMMU", MMMU, "<answer>3.4</answer>", "3", ff("3"), False, False, ""),
    ("MMMU", MMMU, "<answer>24/7</answer>", "24/7", ff("24/7", "3.429"), True, True, ""),
    ("MMMU", MMMU, "<answer>7/2</answer>", "3.5", ff("3.5"), False, True,
     "official extracts the numbers 7 and 2 from 7/2; we read the fraction's value"),
    # ----------------------------------------------------------------------------------- We-Math
    ("WeMath", WEMATH, "<thought>...</thought>\n<answer>D</answer>", "D",
     mc(["F", "D", "B", "I", "No correct answer"], "D"), True, True, ""),
    ("WeMath", WEMATH, "<thought>...</thought>\n<answer>B</answer>", "D",
     mc(["F", "D", "B", "I", "No correct answer"], "D"), False, False, ""),
    ("WeMath", WEMATH, "<thought>...</thought>\n<answer>C</answer>", "C",
     mc(["A", "B", "C", "E", "No correct answer"], "C"), True, True, ""),
    ("WeMath", WEMATH, "<thought>...</thought>\n<answer>E</answer>", "D",
     mc(["A", "B", "C", "E", "No correct answer"], "D"), False, False, ""),
    ("WeMath", WEMATH, "<answer>A, B</answer>", "A", mc(["45°", "60°", "120°", "No correct answer"], "A"), False, False, ""),
    # --------------------------------------------------------------------------------- ZeroBench
    ("ZeroBench-sub", ZB, "Counting the tiles row by row gives {12}", "12", ff("12"), True, True, ""),
    ("ZeroBench-sub", ZB, "The final answer is {13}", "12", ff("12"), False, False, ""),
    ("ZeroBench-sub", ZB, "So the total is {12.0}", "12", ff("12"), False, True,
     "official compares strings exactly; we compare numbers by value (12.0 is 12)"),
]
