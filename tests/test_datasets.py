"""Tests of the bundled datasets: they exist, read back to their truth, and are up to date."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import assaykit
from assaykit.datasets import DATASETS, list_datasets, path
from assaykit.errors import AssaykitError
from assaykit.immunoassay.models import four_pl

ROOT = Path(__file__).resolve().parent.parent


def load_generator():
    spec = importlib.util.spec_from_file_location("make_datasets", ROOT / "sample_data" / "make_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def truth() -> pd.DataFrame:
    return pd.read_csv(path("elisa_il6_truth.csv"), dtype={"plate": str})


def test_every_dataset_is_described_and_shipped():
    assert list_datasets() == sorted(DATASETS)
    for name in list_datasets():
        p = path(name)
        assert p.is_file() and p.name == name
        assert p.stat().st_size < 50_000  # small files only


@pytest.mark.parametrize("name", ["nope.csv", "../__init__.py", "__init__.py", ""])
def test_unknown_dataset(name):
    with pytest.raises(AssaykitError, match="no such bundled dataset") as info:
        path(name)
    assert "elisa_il6_gen5.txt" in info.value.expected
    assert info.value.found == repr(name)


@pytest.mark.parametrize(("name", "fmt"), [("elisa_il6_gen5.txt", "gen5"), ("elisa_il6_generic.csv", "generic")])
def test_exports_read_back_to_the_truth(name, fmt, truth):
    plate = assaykit.read_plate(path(name))
    assert plate.attrs["format"] == fmt
    assert len(plate) == 192 and set(plate["read"]) == {"abs_450", "abs_630"}
    assert (plate["flag"] == "").all() and plate["value"].notna().all()
    for read, col in (("abs_450", "od_450"), ("abs_630", "od_630")):
        got = plate[plate["read"] == read].set_index("well")["value"]
        want = truth.set_index("well")[col]
        assert got.reindex(want.index).to_numpy() == pytest.approx(want.to_numpy(), abs=5e-4)
    a1 = plate[(plate["read"] == "abs_450") & (plate["well"] == "A1")]["value"].iloc[0]
    assert a1 == pytest.approx(truth.set_index("well").loc["A1", "od_450"], abs=1e-12)


def test_truth_is_self_consistent(truth):
    gen = load_generator()
    assert len(truth) == 96 and truth["well"].is_unique
    np.testing.assert_allclose(truth["well_conc_pg_ml"], truth["sample_conc_pg_ml"] / truth["dilution"], rtol=1e-12)
    np.testing.assert_allclose(truth["od_450_true"], four_pl(truth["well_conc_pg_ml"].to_numpy(), **gen.CURVE), atol=1e-6)
    # noise is small: the exported OD stays within 20 % + 0.02 of the noiseless one
    assert ((truth["od_450"] - truth["od_450_true"]).abs() <= 0.2 * truth["od_450_true"] + 0.02).all()
    std = truth[truth["role"] == "standard"]
    assert sorted(std["std_conc_pg_ml"].unique()) == pytest.approx([1000 / 2**i for i in range(8)][::-1])
    assert (std.groupby("std_conc_pg_ml").size() == 2).all()
    assert (truth.loc[truth["role"] == "blank", "well_conc_pg_ml"] == 0).all()
    samples = truth[truth["role"] == "sample"]
    assert samples["sample"].nunique() == 12 and set(samples["dilution"]) == {2, 4, 8}
    # iguratimod lowers IL-6 for every donor
    by = samples.groupby(["donor", "iguratimod_um"])["sample_conc_pg_ml"].first().unstack()
    assert (by.diff(axis=1).iloc[:, 1:] < 0).all().all()


def test_truth_matches_layout(truth):
    lay = assaykit.read_layout(path("elisa_il6_layout.toml"))
    merged = truth.merge(lay, on="well", suffixes=("", "_layout"))
    assert len(merged) == 96
    for col in ("role", "sample", "dilution"):
        assert (merged[col] == merged[f"{col}_layout"]).all()


def test_bundled_files_are_up_to_date(tmp_path):
    """Regenerating the datasets gives byte-identical files (deterministic and committed)."""
    written = load_generator().main(tmp_path)
    assert sorted(p.name for p in written) == sorted(n for n in DATASETS if n != "elisa_il6_layout.toml")
    for p in written:
        assert p.read_bytes() == path(p.name).read_bytes(), f"{p.name} is stale: run sample_data/make_datasets.py"


def test_qpcr_run_reads_back_to_its_truth():
    run = assaykit.read_qpcr(path("qpcr_pbmc_quantstudio.txt"))
    assert run.attrs["format"] == "quantstudio_txt"
    assert len(run) == 72 and set(run["target"]) == {"GAPDH", "ACTB", "IL6", "TNF"}
    truth = pd.read_csv(path("qpcr_pbmc_truth.csv"), dtype={"plate": str})
    m = run.merge(truth, on=["well", "target"], suffixes=("", "_truth"), validate="one_to_one")
    assert len(m) == 72
    assert (m["sample"] == m["sample_truth"]).all() and (m["task"] == "unknown").all()
    np.testing.assert_allclose(m["cq"], m["cq_truth"], atol=5e-4)
    lay = assaykit.read_layout(path("qpcr_pbmc_layout.toml"))
    annotated = assaykit.annotate(run, lay)
    assert len(annotated) == 72 and annotated["condition"].notna().all()
    assert (annotated["sample"].str.split("_").str[0] == annotated["donor"]).all()
    assert all(s.endswith(c) for s, c in zip(annotated["sample"], annotated["condition"], strict=True))


def test_qpcr_truth_follows_the_model():
    gen = load_generator()
    truth = pd.read_csv(path("qpcr_pbmc_truth.csv"))
    assert truth.groupby("target")["efficiency"].first().to_dict() == gen.QPCR_EFFICIENCY
    fold = truth.groupby(["condition", "target"])["fold_change"].first()
    assert fold[("iguratimod_10uM", "IL6")] == 0.3 and fold[("iguratimod_10uM", "TNF")] == 0.5
    assert (fold.loc["vehicle"] == 1).all() and fold[("iguratimod_10uM", "GAPDH")] == 1
    assert truth["cq_flag"].isna().all() and truth["cq"].notna().all()
