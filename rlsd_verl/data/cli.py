"""Command-line plumbing shared by the ``data_prep/*.py`` scripts (which stay thin wrappers)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from rlsd_verl.data.prompts import DEFAULT_PROMPT_STYLE, PROMPT_STYLES


def base_parser(description: str, splits: Sequence[str], default_split: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", help="hub-layout folder (or HF cache repo folder), save_to_disk folder, or one "
                                     ".parquet / .json / .jsonl file")
    src.add_argument("--from-hub", action="store_true",
                     help="download the needed files with huggingface_hub first (needs network)")
    p.add_argument("--hub-dir", default=None, help="with --from-hub: download into this folder (default: HF cache)")
    p.add_argument("--revision", default=None, help="with --from-hub: dataset revision (commit/tag)")
    p.add_argument("--split", choices=list(splits), default=default_split)
    p.add_argument("--output-dir", required=True, help="folder for the parquet file(s) and <name>.summary.json")
    p.add_argument("--limit", type=int, default=None, help="write at most N rows (disables the full-split count check)")
    p.add_argument("--prompt-style", choices=PROMPT_STYLES, default=DEFAULT_PROMPT_STYLE,
                   help="format instruction appended to the question (default: %(default)s, the paper's "
                        "<thought>/<answer> format)")
    p.add_argument("--max-pixels", type=int, default=0,
                   help="shrink images above this many pixels, keeping the aspect ratio (0 = keep size; "
                        "RLSD trained with 1048576)")
    p.add_argument("--skip-bad", action="store_true",
                   help="skip (and count) rows with a corrupt image or broken fields instead of failing")
    p.add_argument("--allow-count-mismatch", action="store_true",
                   help="write a full split even if its row counts differ from the known ones")
    p.add_argument("--workers", type=int, default=1,
                   help="processes that decode/verify/resize images in parallel (default 1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def common_kwargs(args: argparse.Namespace) -> dict:
    return dict(
        input=args.input,
        from_hub=args.from_hub,
        hub_dir=args.hub_dir,
        revision=args.revision,
        split=args.split,
        output_dir=args.output_dir,
        limit=args.limit,
        prompt_style=args.prompt_style,
        max_pixels=args.max_pixels or None,
        skip_bad=args.skip_bad,
        allow_count_mismatch=args.allow_count_mismatch,
        progress=not args.no_progress,
        workers=args.workers,
    )


def run(build: Callable[..., dict], kwargs: dict) -> int:
    """Run a builder, print the summary (human + JSON); errors go to stderr with exit status 1."""
    from rlsd_verl.data.build import format_summary

    try:
        summary = build(**kwargs)
    except (ValueError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    print(json.dumps({k: summary[k] for k in ("rows", "multiple_choice", "free_form", "images", "dropped",
                                               "skipped_bad", "count_check")}))
    return 0


def spec_parser(spec) -> argparse.ArgumentParser:
    """The common parser for one :class:`~rlsd_verl.data.build.DatasetSpec` (its splits and aliases)."""
    return base_parser(spec.description, list(spec.splits) + sorted(spec.aliases), spec.default_split)


def main_for(spec, build: Callable[..., dict], argv=None) -> int:
    """``main()`` of a builder that takes only the common flags."""
    return run(build, common_kwargs(spec_parser(spec).parse_args(argv)))
