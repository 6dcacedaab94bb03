"""`python -m app`: arguments it cannot use, progress on stderr, and the process settings it applies."""
from __future__ import annotations

import json

import pytest

from app import cpu_tuning
from app.__main__ import main
from tests.conftest import ROOT

SAMPLE = ROOT / "data" / "syntax_sample.conllu"


@pytest.mark.parametrize("value, message", [("0", "0 is not a positive number"), ("-3", "-3 is not a positive"),
                                            ("many", "'many' is not a whole number")])
def test_a_count_that_is_not_positive_exits_2_with_a_message(tmp_path, capsys, value, message):
    with pytest.raises(SystemExit) as stopped:
        main(["probe", "--conllu", str(SAMPLE), "--max-sentences", value, "--json", str(tmp_path / "o.json")])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err and not (tmp_path / "o.json").exists()


def test_polysemy_draws_its_progress_on_stderr_and_writes_json_only_to_the_file(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("word;sense;sentence\nbank;money;The bank closed.\nbank;river;The river bank.\n"
                     "bank;money;My bank account.\n", encoding="utf-8")
    out = tmp_path / "o.json"
    assert main(["polysemy", "--data", str(table), "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and json.loads(out.read_text())["items"] == 3
    assert "tokenizing" in captured.err and "word vectors" in captured.err and "3/3" in captured.err


def test_probe_draws_its_progress_on_stderr(tmp_path, capsys):
    out = tmp_path / "o.json"
    assert main(["probe", "--conllu", str(SAMPLE), "--max-sentences", "6", "--json", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and json.loads(out.read_text())["sentences"] == 6
    assert "probe" in captured.err and "6/6" in captured.err


def test_the_command_line_applies_the_process_settings_with_every_core(tmp_path, monkeypatch):
    threads, kept = [], []
    monkeypatch.setattr(cpu_tuning.torch, "set_num_threads", threads.append)
    monkeypatch.setattr(cpu_tuning, "keep_freed_memory", lambda: kept.append(True) or True)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(cpu_tuning, "available_cores", lambda: 64)
    monkeypatch.setattr(cpu_tuning.torch, "get_num_threads", lambda: 8)
    assert main(["probe", "--conllu", str(tmp_path / "missing.conllu"), "--json", str(tmp_path / "o.json")]) == 2
    assert threads == [8] and kept == [True]          # torch's default on 64 cores; none left free
    monkeypatch.setattr(cpu_tuning, "available_cores", lambda: 4)
    main(["probe", "--conllu", str(tmp_path / "missing.conllu"), "--json", str(tmp_path / "o.json")])
    assert threads == [8, 4]
