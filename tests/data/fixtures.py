"""Builders of tiny fixture inputs in the real datasets' on-disk layouts (hub parquet columns, jsonl).

Hub-layout parquet files are written through ``datasets`` with the dataset card's features (image
columns as ``Image()``), i.e. the same struct<bytes, path> columns and HF metadata as the files on the
hub. Images are tiny PNGs drawn with PIL; each colour is distinct so tests can check which image
ended up where.
"""

from __future__ import annotations

import json
import os
from io import BytesIO

import datasets
from datasets import Features, Image, List, Value
from PIL import Image as PILImage

from rlsd_verl.data.schema import load_parquet

COLOURS = {
    1: (255, 0, 0),
    2: (0, 255, 0),
    3: (0, 0, 255),
    4: (255, 255, 0),
    5: (0, 255, 255),
    6: (255, 0, 255),
    7: (128, 128, 128),
}


def run_build(builder, inp, out, **kw) -> dict:
    """``builder`` (a ``build_<name>`` function) on the input ``inp`` into the folder ``out``: no progress bar,
    and the known-size check off unless ``allow_count_mismatch`` is given; returns the summary."""
    kw.setdefault("allow_count_mismatch", True)
    return builder(input=str(inp), output_dir=str(out), progress=False, **kw)


def rows_by_id(path) -> dict:
    """The rows of a built parquet file, by ``extra_info.id``."""
    return {r["extra_info"]["id"]: r for r in load_parquet(path)}


def png(colour=(255, 0, 0), size=(8, 6), mode="RGB") -> bytes:
    img = PILImage.new("RGB", size, colour)
    if mode != "RGB":
        img = img.convert(mode)
    buf = BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def jpeg(colour=(255, 0, 0), size=(8, 6)) -> bytes:
    buf = BytesIO()
    PILImage.new("RGB", size, colour).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def img(n: int, size=(8, 6)) -> dict:
    return {"bytes": png(COLOURS[n], size), "path": f"image_{n}.png"}


def corrupt() -> dict:
    return {"bytes": png((1, 2, 3))[:40], "path": "broken.png"}  # a truncated PNG


def colour_of(image) -> tuple:
    """Centre pixel colour of a PIL image / {"bytes"} dict."""
    if isinstance(image, dict):
        image = PILImage.open(BytesIO(image["bytes"]))
    image = image.convert("RGB")
    return image.getpixel((image.width // 2, image.height // 2))


def write_hub_parquet(path, rows: list[dict], features: Features) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    datasets.Dataset.from_list(rows, features=features).to_parquet(path)
    return path


# --------------------------------------------------------------------------------------- MMMU
MMMU_FEATURES = Features(
    {
        "id": Value("string"),
        "question": Value("string"),
        "options": Value("string"),
        "explanation": Value("string"),
        **{f"image_{i}": Image() for i in range(1, 8)},
        "img_type": Value("string"),
        "answer": Value("string"),
        "topic_difficulty": Value("string"),
        "question_type": Value("string"),
        "subfield": Value("string"),
    }
)


def mmmu_row(rid, question, options="[]", answer="A", qtype="multiple-choice", images=(1,), **kw) -> dict:
    row = {
        "id": rid,
        "question": question,
        "options": options,
        "explanation": kw.pop("explanation", ""),
        "img_type": "['Diagrams']",
        "answer": answer,
        "topic_difficulty": kw.pop("difficulty", "Easy"),
        "question_type": qtype,
        "subfield": kw.pop("subfield", "Sub"),
    }
    for i in range(1, 8):
        row[f"image_{i}"] = None
    for n in images:
        row[f"image_{n}"] = img(n)
    row.update(kw)
    return row


def mmmu_accounting_rows(split="validation") -> list[dict]:
    """Quirks: image options + repeated/out-of-order placeholders; list gold; no placeholder; letter open gold."""
    return [
        mmmu_row(f"{split}_Accounting_1", "Which chart <image 3> matches <image 1>? Compare <image 1> again.",
                 options="['<image 2>', '<image 4>', 'None of them']", answer="B", images=(1, 2, 3, 4),
                 explanation="Because."),
        mmmu_row(f"{split}_Accounting_2", "Compute the ratio shown.", options="[]",
                 answer="['24/7', '3.429']", qtype="open", images=(1,)),
        mmmu_row(f"{split}_Accounting_3", "What is the cost? <image 1>",
                 options="['$6', \"$7's\", '$8', '$9']", answer="C", images=(1,)),
    ]


def mmmu_art_rows(split="validation") -> list[dict]:
    return [
        mmmu_row(f"{split}_Art_Theory_1", "Which option is in the figure <image 1>?", options="[]",
                 answer="C", qtype="open", images=(1,)),
        mmmu_row(f"{split}_Art_Theory_2", "Name the style of <image 2> and <image 1>.", options="[]",
                 answer="Baroque", qtype="open", images=(1, 2)),
    ]


def write_mmmu_hub(root, split="validation", *, shards=1) -> str:
    """``<root>/Accounting/<split>-0000k-of-0000n.parquet`` (sharded) + ``<root>/Art_Theory/...``."""
    acc = mmmu_accounting_rows(split)
    per = -(-len(acc) // shards)
    for k in range(shards):
        part = acc[k * per:(k + 1) * per]
        write_hub_parquet(os.path.join(root, "Accounting", f"{split}-{k:05d}-of-{shards:05d}.parquet"), part,
                          MMMU_FEATURES)
    write_hub_parquet(os.path.join(root, "Art_Theory", f"{split}-00000-of-00001.parquet"), mmmu_art_rows(split),
                      MMMU_FEATURES)
    return str(root)


# --------------------------------------------------------------------------------------- MathVision
MATHVISION_FEATURES = Features(
    {
        "id": Value("string"),
        "question": Value("string"),
        "options": List(Value("string")),
        "image": Value("string"),
        "decoded_image": Image(),
        "answer": Value("string"),
        "solution": Value("string"),
        "level": Value("int64"),
        "subject": Value("string"),
    }
)


def mathvision_rows() -> list[dict]:
    base = dict(solution=None, level=2, subject="metric geometry - area")
    return [
        dict(id="1", question="<image1>\nWhich figure has the largest area?", options=["A", "B", "C", "D", "E"],
             image="images/1.jpg", decoded_image={"bytes": jpeg((200, 10, 10)), "path": "1.jpg"}, answer="D",
             **base),
        dict(id="2", question="Find the ratio in <image1>; panel <image2> shows the detail.",
             options=[], image="images/2.jpg", decoded_image={"bytes": png((10, 200, 10), mode="RGBA"),
                                                             "path": "2.jpg"},
             answer="$\\frac{\\sqrt{6}}{6}$", **{**base, "solution": "Use similar triangles.", "level": 4}),
        dict(id="2830", question="<image1>\nWhat is x?", options=[], image="images/2830.jpg",
             decoded_image={"bytes": png((10, 10, 200), mode="P"), "path": "2830.jpg"},
             answer="\x0crac{36}{13}", **{**base, "subject": "algebra", "level": 5}),
        dict(id="5", question="<image1>\nWhich shape comes next?",
             options=["<image2>", "<image3>", "<image4>", "<image5>", "<image6>"], image="images/5.jpg",
             decoded_image={"bytes": png((90, 90, 90)), "path": "5.jpg"}, answer="B",
             **{**base, "subject": "logic", "level": 1}),
    ]


def write_mathvision_hub(root, split="testmini") -> str:
    write_hub_parquet(os.path.join(root, "data", f"{split}-00000-of-00001-abc123.parquet"), mathvision_rows(),
                      MATHVISION_FEATURES)
    return str(root)


def write_mathvision_github(root, split="test") -> str:
    """GitHub layout: ``data/<split>.jsonl`` (image = relative path) + ``data/images/<id>.jpg``."""
    os.makedirs(os.path.join(root, "data", "images"), exist_ok=True)
    with open(os.path.join(root, "data", f"{split}.jsonl"), "w", encoding="utf-8") as f:
        for r in mathvision_rows():
            with open(os.path.join(root, "data", r["image"]), "wb") as imgf:
                imgf.write(r["decoded_image"]["bytes"])
            rec = {k: v for k, v in r.items() if k != "decoded_image"}
            f.write(json.dumps(rec) + "\n")
    return str(root)


# --------------------------------------------------------------------------------------- MathVista
MATHVISTA_FEATURES = Features(
    {
        "pid": Value("string"),
        "question": Value("string"),
        "image": Value("string"),
        "decoded_image": Image(),
        "choices": List(Value("string")),
        "unit": Value("string"),
        "precision": Value("float64"),
        "answer": Value("string"),
        "question_type": Value("string"),
        "answer_type": Value("string"),
        "metadata": {
            "category": Value("string"),
            "context": Value("string"),
            "grade": Value("string"),
            "img_height": Value("int64"),
            "img_width": Value("int64"),
            "language": Value("string"),
            "skills": List(Value("string")),
            "source": Value("string"),
            "split": Value("string"),
            "task": Value("string"),
        },
        "query": Value("string"),
    }
)


def _mv_meta(task="figure question answering", source="FigureQA"):
    return dict(category="math-targeted-vqa", context="scientific figure", grade="high school", img_height=6,
                img_width=8, language="english", skills=["arithmetic reasoning"], source=source,
                split="testmini", task=task)


def mathvista_rows() -> list[dict]:
    return [
        dict(pid="1", question="What is the value of the largest bar?", image="images/1.jpg",
             decoded_image=img(1), choices=None, unit=None, precision=None, answer="10",
             question_type="free_form", answer_type="integer", metadata=_mv_meta(), query="q1"),
        dict(pid="2", question="Which shape is red?", image="images/2.jpg", decoded_image=img(2),
             choices=["circle", "square", "triangle"], unit=None, precision=None, answer="square",
             question_type="multi_choice", answer_type="text", metadata=_mv_meta("textbook question answering",
                                                                                  "TQA"), query="q2"),
        dict(pid="3", question="How long is the segment?", image="images/3.jpg", decoded_image=img(3),
             choices=None, unit="cm", precision=2.0, answer="1.25", question_type="free_form",
             answer_type="float", metadata=_mv_meta(), query="q3"),
    ]


# --------------------------------------------------------------------------------------- WeMath
WEMATH_FEATURES = Features(
    {
        "ID": Value("string"),
        "split": Value("string"),
        "knowledge concept": Value("string"),
        "question": Value("string"),
        "option": Value("string"),
        "answer": Value("string"),
        "image_path": Image(),
        "key": Value("string"),
        "question number": Value("int64"),
        "knowledge concept description": Value("string"),
    }
)


def wemath_rows() -> list[dict]:
    base = {"split": "testmini", "knowledge concept": "Area of Circles", "knowledge concept description": "..."}
    return [
        dict(ID="3steps_165", question="What is the area of the flower bed (  ) m²?",
             option="A. 200.96;B. 3215.36;C. 6280;D. 32; E. No correct answer", answer="B", image_path=img(1),
             key="3steps_3", **{"question number": 1575}, **base),
        dict(ID="3steps_165", question="What is the radius (  ) m?", option="A. 1;B. 2;C. 3;D. 4",
             answer="A", image_path=img(2), key="3steps_1", **{"question number": 1573}, **base),
    ]


# --------------------------------------------------------------------------------------- ZeroBench
ZEROBENCH_FEATURES = Features(
    {
        "question_id": Value("string"),
        "question_text": Value("string"),
        "question_images_decoded": List(Image()),
        "question_answer": Value("string"),
        "question_images": List(Value("string")),
        "image_attribution": Value("string"),
    }
)


def zerobench_rows(sub=False) -> list[dict]:
    if sub:
        return [
            dict(question_id="1_1", question_text="How many red squares are there?",
                 question_images_decoded=[img(1)], question_answer="4", question_images=["1.png"],
                 image_attribution="own"),
            dict(question_id="1_2", question_text="Compare both images: which has more blue?",
                 question_images_decoded=[img(3), img(2)], question_answer="first",
                 question_images=["a.png", "b.png"], image_attribution="own"),
        ]
    return [
        dict(question_id="1", question_text="What is the product of the counts?", question_images_decoded=[img(1)],
             question_answer="12", question_images=["1.png"], image_attribution="own"),
    ]


# --------------------------------------------------------------------------------------- geometry3k
GEO3K_FEATURES = Features({"images": List(Image()), "problem": Value("string"), "answer": Value("string")})


def geo3k_rows() -> list[dict]:
    return [
        dict(images=[img(1)], problem="<image>Find x.", answer="3"),
        dict(images=[img(2)], problem="<image>Find the area of the triangle.", answer="12\\sqrt{3}"),
    ]


# --------------------------------------------------------------------------------------- MMFineReason
MMFINEREASON_FEATURES = Features(
    {
        "id": Value("string"),
        "question": Value("string"),
        "answer": Value("string"),
        "ori_question": Value("string"),
        "original_answer": Value("string"),
        "image": Image(),
        "caption": Value("string"),
        "qwen3vl_235b_thinking_response": Value("string"),
        "pass_rate": Value("float64"),
        "is_consistent": Value("bool"),
        "consistency_analysis": Value("string"),
        "source": Value("string"),
    }
)


def mmfinereason_rows() -> list[dict]:
    def r(i, q, a, source="MMK12", image=1, consistent=True):
        return dict(id=f"mmfr-{i}", question=q, answer=a, ori_question=q, original_answer=a,
                    image=img(image) if image else None, caption="a figure",
                    qwen3vl_235b_thinking_response=f"<think>reasoning {i}</think>\nThe answer is {a}.",
                    pass_rate=0.0, is_consistent=consistent, consistency_analysis="", source=source)

    return [
        r(0, "<image>\nWhich option is correct?\nA. 1\nB. 2\nC. 3\nD. 4", "B", "MMR1"),
        r(1, "<image>\nFind the length of AB.", "\\frac{3}{2}"),
        r(2, "<image>\nIs the triangle isosceles?", "Yes", "BMMR"),
        r(3, "<image>\nDescribe the mood of the painting.", "A calm and serene atmosphere", "BMMR"),
        r(4, "Compare <image> and <image>: which is larger?", "12", "GameQA-140K"),  # 2 tokens, 1 image
        r(5, "<image>\nHow many cubes remain?", "7", "GameQA-140K"),
        r(6, "<image>\nWhich panel completes the pattern? The choices are in the image.", "C", "FineVision-raven"),
    ]
