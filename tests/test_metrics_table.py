"""``python -m rlsd_verl.metrics_table``: finds the file verl's file logger actually wrote."""

import json

from rlsd_verl.metrics_table import main, verl_file_logger_path


def test_logger_path_follows_verls_rule(tmp_path):
    env = {"VERL_FILE_LOGGER_ROOT": str(tmp_path)}
    assert verl_file_logger_path("p", "e", env) == str(tmp_path / "p" / "e.jsonl")
    env["VERL_FILE_LOGGER_PATH"] = str(tmp_path / "one.jsonl")  # verl: the path wins over the root
    assert verl_file_logger_path("p", "e", env) == str(tmp_path / "one.jsonl")


def test_table_by_project_and_experiment_reads_logger_path(tmp_path, monkeypatch, capsys):
    log = tmp_path / "custom.jsonl"
    log.write_text(json.dumps({"step": 1, "data": {"rlsd/lambda": 0.5}}) + "\n")
    monkeypatch.setenv("VERL_FILE_LOGGER_ROOT", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(log))
    assert main(["--project", "rlsd_demo", "--experiment", "x"]) == 0
    out = capsys.readouterr().out
    assert str(log) in out and "0.5" in out
