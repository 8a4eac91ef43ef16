"""benchmarks/scale.py: generated data, the engine registry and the table (no pipeline run here)."""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks import scale


def test_generated_data_has_the_rows_asked_for_and_the_samples_header(tmp_path: Path) -> None:
    path = scale.generate_rows(20_000, tmp_path / "data")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    with scale.DEFAULT_DATA.joinpath("data.csv").open(newline="") as handle:
        header = next(csv.reader(handle))
    assert rows[0] == header and len(rows) == 20_001
    assert [p.name for p in path.parent.iterdir()] == ["data.csv"]  # ExampleGen reads every file there


def test_an_engine_column_is_one_registered_function(tmp_path: Path) -> None:
    def fake(data_dir: Path, work_dir: Path) -> scale.EngineResult:
        return scale.EngineResult("fake", 50.0, 900.0, 1000.0, 0.9,
                                  {"Evaluator": {"seconds": 20.0, "cores": 1.9, "peak_rss_mib": 1210.4}},
                                  auc=0.95)

    scale.register("fake", fake)
    try:
        result = scale.ENGINES["fake"](tmp_path, tmp_path)
        reference = scale.EngineResult("template", 100.0, 1800.0, 2000.0, 0.5,
                                       {"Evaluator": {"seconds": 40.0, "cores": 1.0, "peak_rss_mib": 900.0}})
        table = scale.format_table(1000, [result, reference])
    finally:
        del scale.ENGINES["fake"]
    assert "fake/template" in table
    evaluator = next(line for line in table.splitlines() if line.startswith("Evaluator"))
    assert evaluator.split()[1:] == ["20.0", "1.90", "1210", "40.0", "1.00", "900", "0.50x"]
    assert "ours/template" not in table and "0.50x" in table.splitlines()[-6]


def test_saved_reports_of_separate_runs_print_as_one_table(tmp_path: Path, capsys) -> None:
    import json
    from dataclasses import asdict

    ours = scale.EngineResult("ours", 50.0, 900.0, 1000.0, 0.9,
                              {"Evaluator": {"seconds": 20.0, "cores": 1.9}})
    template = scale.EngineResult("template", 100.0, 1800.0, 2000.0, 0.5,
                                  {"Evaluator": {"seconds": 40.0, "cores": 1.0}})
    paths = []
    for result in (ours, template):
        path = tmp_path / f"{result.engine}.json"
        path.write_text(json.dumps({"load_before": "load average 1.00", "load_after": "load average 2.00",
                                    "sizes": {"1000": {"results": [asdict(result)]}}}))
        paths.append(str(path))
    assert scale.main(["--table", *paths]) == 0
    out = capsys.readouterr().out
    evaluator = next(line for line in out.splitlines() if line.startswith("Evaluator"))
    assert evaluator.split()[1:] == ["20.0", "1.90", "nan", "40.0", "1.00", "nan", "0.50x"]  # older reports
    assert out.count("load average 1.00") == 2
