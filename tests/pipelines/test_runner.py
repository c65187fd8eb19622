import pytest

from pipelines.runner import Step, StepSkipped, check_table, run_steps


def _write(folder, name, text="x"):
    (folder / name).write_text(text)


def test_outputs_flow_to_the_steps_that_need_them(tmp_path):
    def first(ctx):
        _write(ctx, "first.txt")
        return 2

    def second(ctx, first):
        return first * 10

    table = [Step("first", first), Step("second", second, needs=("first",))]
    records, outputs = run_steps(table, tmp_path, tmp_path)
    assert outputs == {"first": 2, "second": 20}
    assert [(r.step, r.status) for r in records] == [("first", "ok"), ("second", "ok")]
    assert records[0].files == ["first.txt"] and records[1].files == []
    assert all(r.seconds >= 0 for r in records)


def test_a_skipped_step_states_why_and_its_dependants_are_skipped_too(tmp_path):
    def forecast(ctx):
        raise StepSkipped("no tickets or requirements table")

    def staffing(ctx, forecast):
        raise AssertionError("must not run")

    def alerts(ctx, forecast):
        return [] if forecast is None else ["alert"]

    table = [
        Step("forecast", forecast),
        Step("staffing", staffing, needs=("forecast",)),
        Step("alerts", alerts, uses=("forecast",)),
    ]
    records, outputs = run_steps(table, tmp_path, tmp_path)
    by_step = {r.step: r for r in records}
    assert by_step["forecast"].status == "skipped"
    assert by_step["forecast"].reason == "no tickets or requirements table"
    assert by_step["staffing"].status == "skipped"
    assert by_step["staffing"].reason == "nothing from forecast: no tickets or requirements table"
    assert by_step["alerts"].status == "ok" and outputs["alerts"] == []


def test_a_failing_step_leaves_no_file_and_blocks_only_its_dependants(tmp_path):
    def broken(ctx):
        _write(ctx, "half.csv", "half written")
        raise RuntimeError("disk on fire")

    table = [
        Step("broken", broken),
        Step("after", lambda ctx, broken: 1, needs=("broken",)),
        Step("other", lambda ctx: 2),
    ]
    records, outputs = run_steps(table, tmp_path, tmp_path)
    by_step = {r.step: r for r in records}
    assert by_step["broken"].status == "failed"
    assert (
        by_step["broken"].error == "RuntimeError: disk on fire"
        and "disk on fire" in by_step["broken"].traceback
    )
    assert not (tmp_path / "half.csv").exists()
    assert by_step["after"].status == "not run" and by_step["after"].reason == "needs broken, which failed"
    assert by_step["other"].status == "ok" and outputs == {"other": 2}
    assert "traceback" not in by_step["other"].as_dict()


def test_the_table_is_checked_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match="'b' depends on \\['c'\\], not an earlier step"):
        check_table([Step("a", print), Step("b", print, needs=("c",)), Step("c", print)])
    with pytest.raises(ValueError, match="'a' is declared twice"):
        run_steps([Step("a", print), Step("a", print)], tmp_path, tmp_path)
