"""``assaykit blot``, the workflow layer, the blot demo part and the blot protocol, end to end."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from assaykit.blot.workflow import run, settings_class
from assaykit.cli import main
from assaykit.cli.blot import run_blot
from assaykit.datasets import path
from assaykit.errors import AnalysisError, SettingsError
from assaykit.simulate.blot import demo_spec, simulate_blot, write_blot, write_imagestudio_csv

TABLES = ("bands", "normalized", "replicates", "stats", "purity", "linearity")


def _invoke(*args):
    return CliRunner().invoke(main, ["blot", *[str(a) for a in args]])


def _one_line_error(res, text):
    assert res.exit_code == 1, res.output
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert text in res.stderr, res.stderr


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("blot")
    blot = simulate_blot(demo_spec(), seed=1)
    return blot, write_blot(blot, d)


def _true_folds(blot):
    e = blot.expected_ratios([("IkBa", "GAPDH")], "veh")
    return e.set_index("lane_label")["fold_in_box"]


def test_cli_with_boxes_writes_everything_and_folds_match_the_truth(tmp_path, demo):
    blot, paths = demo
    out = tmp_path / "out"
    res = _invoke(paths["image"], "--layout", paths["layout"], "--boxes", paths["boxes"], "--loading", "GAPDH",
                  "--control", "veh", "--background", "rolling-ball", "--radius", "50", "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    for name in (*TABLES, "lanes"):
        assert (out / f"{name}.csv").is_file()
    for fig in ("annotated_demo_ikba.png", "profiles_demo_ikba.png", "fold_chart.png"):
        assert (out / fig).stat().st_size > 5_000
    wb = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert wb.sheetnames[:3] == ["info", "bands", "normalized"]
    params = {r[1]: r[2] for r in wb["info"].iter_rows(values_only=True) if r[0] == "parameter"}
    assert (
        params["background"] == "rolling_ball"
        and params["radius"] == 50
        and params["loading"] == "GAPDH"
    )
    inputs = [r for r in wb["info"].iter_rows(values_only=True) if r[0] == "input"]
    assert len(inputs) == 3 and all(r[3] for r in inputs)  # image, layout, boxes with their SHA-256
    n = pd.read_csv(out / "normalized.csv").set_index("sample")
    truth = _true_folds(blot)
    err = (n["fold"] / truth.loc[n.index] - 1).abs()
    assert err.max() < 0.02  # rolling ball with the true boxes: within 2 % on this blot
    assert "bands: 12 (0 saturated); normalized: ok 6" in res.stderr


def test_cli_automatic_lanes_from_the_layout(tmp_path, demo):
    blot, paths = demo
    res = _invoke(
        paths["image"],
        "--layout",
        paths["layout"],
        "--loading",
        "GAPDH",
        "--control",
        "veh",
        "-o",
        tmp_path,
    )
    assert res.exit_code == 0, res.output
    n = pd.read_csv(tmp_path / "normalized.csv").set_index("sample")
    err = (n["fold"] / _true_folds(blot).loc[n.index] - 1).abs()
    assert (n["status"] == "ok").all() and err.max() < 0.05


def test_cli_imports_band_tables_and_replicates(tmp_path, demo):
    blot, paths = demo
    t2 = blot.truth.assign(true_volume_in_box=blot.truth["true_volume_in_box"] * np.where(
        (blot.truth["target"] == "IkBa") & (blot.truth["sample"] == "TNF_5"), 1.2, 1.0))  # fmt: skip
    a = write_imagestudio_csv(blot.truth, tmp_path / "rep1.csv")
    b = write_imagestudio_csv(t2, tmp_path / "rep2.csv")
    res = _invoke(
        a,
        b,
        "--layout",
        paths["layout"],
        "--loading",
        "GAPDH",
        "--control",
        "veh",
        "-o",
        tmp_path / "o",
    )
    assert res.exit_code == 0, res.output
    reps = pd.read_csv(tmp_path / "o" / "replicates.csv").set_index("group")
    f = _true_folds(blot)["TNF_5"]
    assert reps.loc["TNF_5", "n"] == 2
    assert reps.loc["TNF_5", "mean_fold"] == pytest.approx(f * 1.1, rel=1e-6)
    assert reps.loc["TNF_5", "sd_fold"] == pytest.approx(np.std([f, 1.2 * f], ddof=1), rel=1e-6)
    stats = pd.read_csv(tmp_path / "o" / "stats.csv")
    assert set(stats["group"]) == {"TNF_5", "TNF_15", "TNF_30", "TNF_60", "drug+TNF_15"}


def test_lanes_and_boxes_are_exclusive(tmp_path, demo):
    _, paths = demo
    res = _invoke(paths["image"], "--lanes", "6", "--boxes", paths["boxes"], "-o", tmp_path)
    assert res.exit_code == 2 and "give either --lanes or --boxes" in res.output


def test_bad_inputs_give_one_line_errors(tmp_path, demo):
    _, paths = demo
    trunc = tmp_path / "trunc.tif"
    trunc.write_bytes(paths["image"].read_bytes()[:2000])
    _one_line_error(_invoke(trunc, "-o", tmp_path / "o1"), "trunc.tif")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    _one_line_error(_invoke(text, "-o", tmp_path / "o2"), "not a recognised blot_bands export")
    lay = tmp_path / "l.toml"
    lay.write_text('[lanes]\nsamples = ["veh"]\n')
    _one_line_error(_invoke(paths["image"], "--layout", lay, "--boxes", paths["boxes"], "-o", tmp_path / "o3"),
                    "a lane of the bands is not in the layout")  # fmt: skip
    _one_line_error(_invoke(paths["image"], "--layout", paths["layout"], "--boxes", paths["boxes"], "--control",
                            "vehicle", "-o", tmp_path / "o4"), "control group not found in any lane")  # fmt: skip


def test_settings_layers_protocol_layout_cli(tmp_path, demo):
    _, paths = demo
    proto = tmp_path / "p.toml"
    proto.write_text('[blot]\nloading = "IkBa"\ncontrol = "veh"\nradius = 30\n')
    lay = tmp_path / "l.toml"
    lay.write_text(paths["layout"].read_text() + '\n[blot]\nloading = "GAPDH"\n')
    res, _ = run_blot([paths["image"]], tmp_path / "o", layout=lay, boxes=paths["boxes"], protocol=proto,
                      options={"radius": 40.0}, figures=False)  # fmt: skip
    d = res.settings.to_dict()
    assert d["loading"] == "GAPDH" and d["control"] == "veh" and d["radius"] == 40.0
    bad = tmp_path / "bad.toml"
    bad.write_text("[blot]\nradious = 3\n")
    with pytest.raises(SettingsError, match="key radious: not a setting of \\[blot\\]"):
        run_blot([paths["image"]], tmp_path / "o2", protocol=bad, figures=False)


def test_bundled_protocol_and_demo_part(tmp_path):
    from assaykit.cli.demo_blot import run as demo_run

    written = demo_run(tmp_path)
    names = {p.name for p in written}
    assert {
        "bands.csv",
        "normalized.csv",
        "stats.csv",
        "results.xlsx",
        "fold_chart.png",
        "truth_comparison.csv",
    } <= names
    cmp = pd.read_csv(tmp_path / "truth_comparison.csv")
    assert len(cmp) == 18 and (cmp["status"] == "ok").all()
    # 8-bit film scans, automatic lanes and bands, lane-profile background: folds within 3 % of the truth
    assert cmp["error_pct"].abs().max() < 3
    stats = pd.read_csv(tmp_path / "stats.csv").set_index("group")
    assert stats.loc["TNF_15", "p_adjusted"] < 0.01 and stats.loc["TNF_15", "n"] == 3


def test_workflow_inputs_executor_and_errors(demo):
    blot, paths = demo
    s = settings_class().from_mapping({"loading": "GAPDH", "control": "veh"})
    one = run(paths["image"], s, layout=paths["layout"], boxes=paths["boxes"])
    with ThreadPoolExecutor(2) as ex:
        two = run(
            [paths["image"], blot.image],
            s,
            layout=paths["layout"],
            boxes=paths["boxes"],
            executor=ex,
        )
    assert len(two.quantified) == 2 and len(two.bands) == 2 * len(one.bands)
    tables = two.tables()
    assert {"bands", "normalized", "replicates", "stats", "purity", "linearity", "lanes"} <= set(
        tables
    )
    frame = run(blot.truth.assign(volume=blot.truth["true_volume"]), s)
    assert np.allclose(frame.normalized.set_index("sample")["fold"],
                       blot.expected_ratios([("IkBa", "GAPDH")], "veh").set_index("lane_label")["fold_vs_control_lane"])  # fmt: skip
    with pytest.raises(AnalysisError, match="input file not found"):
        run("nope.tif", s)
    with pytest.raises(AnalysisError, match="unknown blot input"):
        run(3.5, s)
    with pytest.raises(AnalysisError, match="one layout per input needed"):
        run([paths["image"]] * 2, s, layout=[paths["layout"]])


def test_bundled_dataset_names():
    for name in (
        "blot_demo_rep1.tif",
        "blot_demo_layout.toml",
        "blot_demo_truth.csv",
        "blot_demo_rep1_imagelab.csv",
    ):
        assert path(name).is_file()


@pytest.mark.parametrize("background", ["lane-profile", "rolling-ball"])
@pytest.mark.parametrize("name", ["synth_blot_A_IkBa_timecourse", "synth_blot_B_p65_fractions"])
def test_cli_on_the_corpus_blots_with_the_true_boxes(corpus, tmp_path, name, background):
    # the whole command on the shared synthetic blots: folds vs the truth's in-box folds
    # (A: IkBa / GAPDH; B: cytoplasmic p65 / GAPDH, nuclear p65 / lamin B1, as in the issue)
    from assaykit.simulate.blot import boxes_table, expected_ratios

    truth = pd.read_csv(corpus("blot", f"{name}_ground_truth.csv"))
    truth["lane"] = truth["lane_index"] + 1
    fractions = name.endswith("fractions")
    lines = []
    for r in truth.drop_duplicates("lane").sort_values("lane").itertuples():
        lines += [f"[lane.{r.lane}]", f'sample = "{r.lane_label}"']
        if r.lane_label == "ladder":
            lines.append('role = "ladder"')
        if fractions:
            frac = {"C": "cytoplasmic", "N": "nuclear"}[r.lane_label[0]]
            lines += [f'condition = "{r.lane_label[2:]}"', f'fraction = "{frac}"']
    lay = tmp_path / "layout.toml"
    lay.write_text("\n".join(lines) + "\n", encoding="utf-8")
    boxes = tmp_path / "boxes.csv"
    boxes_table(truth).to_csv(boxes, index=False)
    out = tmp_path / "out"
    extra = ["--nuclear-loading", "laminB1"] if fractions else []
    res = _invoke(corpus("blot", f"{name}.tif"), "--layout", lay, "--boxes", boxes, "--loading", "GAPDH",
                  *extra, "--control", "veh", "--background", background, "-o", out)  # fmt: skip
    assert res.exit_code == 0, res.output
    n = pd.read_csv(out / "normalized.csv", keep_default_na=False, na_values=[""])
    if fractions:
        t = truth.assign(
            fraction=truth["lane_label"].str[0].map({"C": "cytoplasmic", "N": "nuclear"})
        )
        both = expected_ratios(
            t, [("p65", "GAPDH"), ("p65", "laminB1")], {"cytoplasmic": "C_veh", "nuclear": "N_veh"}
        )
        want = both.loc[(both["fraction"] == "cytoplasmic") == (both["loading"] == "GAPDH")]
    else:
        want = expected_ratios(truth, [("IkBa", "GAPDH")], "veh")
    m = want.merge(n, left_on=["lane_label", "target", "loading"], right_on=["sample", "target", "loading"],
                   validate="one_to_one")  # fmt: skip
    assert len(m) == len(want) == (8 if fractions else 10)
    err = (m["fold"] / m["fold_in_box"] - 1).abs() * 100
    if background == "lane-profile" or not fractions:
        # the targets for folds: 1 % median, 3 % max (ImageJ best: 1.0 / 4.1 and 3.9 / 7.2)
        assert err.median() < 1.0 and err.max() < 3.0
    else:  # the rolling ball on B's faint nuclear bands: better than ImageJ's 7.2 %, not within 3 %
        assert err.median() < 1.0 and err.max() < 7.2
    sat = truth.set_index(["lane_label", "target"])["saturated"]
    for _, r in m.iterrows():
        assert ("loading_saturated" in r["status"]) == bool(sat[(r["sample"], r["loading"])])
        assert ("target_saturated" in r["status"]) == bool(sat[(r["sample"], r["target"])])
