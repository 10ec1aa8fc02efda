"""Benchmark evaluation: aggregate verl validation dumps into per-benchmark accuracy JSON.

``python -m rlsd_verl.eval.aggregate`` (API in :mod:`rlsd_verl.eval.aggregate`: ``aggregate``,
``aggregate_rows``, ``find_dump``); the recipe ``recipes/eval/evaluate.sh`` runs verl validation and
then the aggregator.
"""
