"""Every corpus export read by its reader, driven by one table of cases.

One row per file: (file, format, number of rows, values of whole columns, spot values).
Adding a format or a file is adding a row; what is special about one file (flag counts,
cross-checks with the file's own numbers, layouts, metadata) stays in its reader's
test module (``test_io_<format>.py``).

The files live in ``../shared/corpus`` or, for the committed subset, ``tests/data/corpus``
(see tests/data/SOURCES.md); a case whose file is in neither place is skipped.

Column expectations: a ``list`` is the column's distinct values in order of appearance,
a ``set`` its set of values, a ``dict`` its value counts. A spot is (selector, expected):
the selector must match exactly one row, whose columns must equal the expected values
(``NAN`` for a missing value; ``pytest.approx`` where the number is compared with a
tolerance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import pytest

from assaykit.io import read_plate, read_qpcr

NAN = float("nan")
approx = pytest.approx

GEN5 = ("plate_reader", "biotek_gen5")
SMP = ("plate_reader", "softmax_pro")
BMG = ("plate_reader", "bmg")
ENV = ("plate_reader", "perkinelmer_envision")
LX = ("plate_reader", "luminex_xponent")


@dataclass(frozen=True)
class Case:
    """One export and what its reader must return."""

    id: str
    path: tuple[str, ...]  # under corpus/
    kind: str  # "plate" or "qpcr"
    format: str
    n_rows: int
    columns: dict = field(default_factory=dict)
    spots: tuple = ()


def P(id, path, format, n_rows, columns=None, spots=()):  # noqa: N802 - a table row
    return Case(id, tuple(path), "plate", format, n_rows, columns or {}, tuple(spots))


def Q(id, path, format, n_rows, columns=None, spots=()):  # noqa: N802 - a table row
    return Case(id, tuple(path), "qpcr", format, n_rows, columns or {}, tuple(spots))


def well(w, **more):
    return {"well": w, **more}


CASES = [
    # ------------------------------------------------------------------ plate readers
    P("gen5_overflow_missed", (*GEN5, "abs450_96well_non_numeric_values_OVRFLW.txt"), "gen5", 96,
      {"plate": ["Plate 1"], "read": ["abs_450"], "metric": ["raw"]},
      [(well("A1", plate="Plate 1", read="abs_450", metric="raw"), {"value": 2.1}),
       (well("H12", plate="Plate 1", read="abs_450", metric="raw"), {"value": 2.5}),
       (well("B12", plate="Plate 1", read="abs_450", metric="raw"), {"value": 2.41}),
       (well("A8", plate="Plate 1", read="abs_450", metric="raw"), {"value": NAN, "flag": "overflow", "raw": "OVRFLW"}),
       (well("D12", plate="Plate 1", read="abs_450", metric="raw"), {"value": NAN, "flag": "missed", "raw": "MISSED"})]),
    P("gen5_bca_three_data_sets", (*GEN5, "endpoint_stdcurve_singleplate.txt"), "gen5", 3 * 96,
      {"read": {"abs_630"}, "metric": {"blank_corrected": 96, "instrument_conc": 96, "raw": 96}, "flag": {""}},
      [(well("A1", plate="Plate 1", read="abs_630", metric="raw"), {"value": 3.337}),
       (well("A1", plate="Plate 1", read="abs_630", metric="blank_corrected"), {"value": 3.336}),
       (well("A1", plate="Plate 1", read="abs_630", metric="instrument_conc"), {"value": 1980.423}),
       (well("H1", plate="Plate 1", read="abs_630", metric="blank_corrected"), {"raw": "-0.000"}),
       (well("H12", plate="Plate 1", read="abs_630", metric="instrument_conc"), {"value": 115.184}),
       (well("C1", plate="Plate 1", read="abs_630", metric="raw"), {"sample_label": "STD3", "std_conc": 222.22, "dilution": NAN}),
       (well("B4", plate="Plate 1", read="abs_630", metric="raw"), {"sample_label": "SPL1:2", "dilution": 0.5, "std_conc": NAN}),
       (well("H1", plate="Plate 1", read="abs_630", metric="raw"), {"sample_label": "BLK", "std_conc": NAN})]),
    P("gen5_alphalisa", (*GEN5, "alphalisa_endpoint_singleplate_4PL.txt"), "gen5", 4 * 96,
      {"read": {"alpha"}, "metric": {"raw", "blank_corrected", "log", "instrument_conc"}},
      [(well("A2", plate="Plate 1", read="alpha", metric="raw"), {"value": 2.0}),
       (well("A1", plate="Plate 1", read="alpha", metric="blank_corrected"), {"value": -1.0}),
       (well("A2", plate="Plate 1", read="alpha", metric="instrument_conc"), {"value": 5111.111}),
       (well("A1", plate="Plate 1", read="alpha", metric="instrument_conc"), {"value": NAN, "flag": "invalid", "raw": "?????"}),
       # a curve-range bound: the bound in value (docs/schemas.md), flagged
       (well("B6", plate="Plate 1", read="alpha", metric="instrument_conc"),
        {"value": 3141492.0, "flag": "out_of_range_high", "raw": ">3141492.000"}),
       (well("B6", plate="Plate 1", read="alpha", metric="log"), {"value": 0.305}),
       (well("A1", plate="Plate 1", read="alpha", metric="raw"), {"sample_label": "STD1", "std_conc": 1e7}),
       (well("A12", plate="Plate 1", read="alpha", metric="raw"), {"sample_label": "BLK"}),
       (well("H12", plate="Plate 1", read="alpha", metric="raw"), {"sample_label": "SPL36"})]),
    P("softmax_elisa_dual_wavelength", (*SMP, "softmaxpro_elisa_groups_RangeQ.txt"), "softmax", 192,
      {"plate": ["Plate01"], "read": {"abs_450", "abs_650"}, "metric": {"raw"}, "temperature_c": {21.8}, "flag": {""}},
      [(well("A1", plate="Plate01", read="abs_450", metric="raw"), {"value": 0.4011}),
       (well("A1", plate="Plate01", read="abs_650", metric="raw"), {"value": 0.0394}),
       (well("H12", plate="Plate01", read="abs_450", metric="raw"), {"value": 0.1104}),
       (well("H12", plate="Plate01", read="abs_650", metric="raw"), {"value": 0.0369}),
       (well("E5", plate="Plate01", read="abs_450", metric="raw"), {"value": 0.465})]),
    P("softmax_reduced", (*SMP, "softmaxpro_example_reduced_spike_recovery.txt"), "softmax", 96,
      {"plate": ["Plate1"], "read": ["abs_450-650"], "metric": ["reduced"]},
      [(well("A1", plate="Plate1", read="abs_450-650", metric="reduced"), {"value": approx(1.8566), "raw": "1.8565999999999998"}),
       (well("A11", plate="Plate1", read="abs_450-650", metric="reduced"), {"value": -0.0001}),
       (well("H12", plate="Plate1", read="abs_450-650", metric="reduced"), {"value": -0.0001}),
       (well("H6", plate="Plate1", read="abs_450-650", metric="reduced"), {"value": approx(1.4094)}),
       (well("H8", plate="Plate1", read="abs_450-650", metric="reduced"), {"value": 0.124})]),
    P("bmg_mars_absorbance", (*BMG, "mars_absorbance_450.csv"), "bmg_csv", 96,
      {"read": {"abs_450"}, "metric": {"raw"}, "plate": {"1"}, "flag": {""}},
      [(well("A1"), {"value": 0.073}), (well("C9"), {"value": 0.71, "raw": "0.71"}),
       (well("H12"), {"value": 0.207}), (well("F2"), {"value": 0.012})]),
    P("bmg_pherastar", (*BMG, "pherastar_output.csv"), "bmg_csv", 96, {},
      [(well("A1"), {"value": 1.691}), (well("B2"), {"value": 0.986}), (well("H3"), {"value": 0.074}),
       (well("G12"), {"value": 1.4}), (well("H12"), {"value": 0.884})]),
    P("bmg_smart_control_xlsx", (*BMG, "smart_control_picogreen_stdcurve.xlsx"), "bmg_smart", 192,
      {"read": {"fluo_480_520"}, "metric": {"blank_corrected", "raw"}},
      [(well("A1", metric="raw"), {"value": 8168026.0, "sample_label": "S1", "std_conc": 1000.0,
                                   "std_conc_unit": "ng/mL", "dilution": 1.0}),
       (well("H1", metric="raw"), {"std_conc": 0.06}),
       (well("A4", metric="raw"), {"sample_label": "X1", "std_conc": NAN, "std_conc_unit": "", "dilution": 500.0}),
       (well("B4", metric="raw"), {"dilution": 1000.0}),
       # blank wells have no blank-corrected value: kept, NaN, flagged 'empty'
       *[(well(w, metric="blank_corrected"), {"sample_label": "B", "flag": "empty", "value": NAN})
         for w in ("H10", "H11", "H12")],
       *[(well(w, metric="raw"), {"flag": ""}) for w in ("H10", "H11", "H12")],
       (well("H1", metric="blank_corrected"), {"value": -80.0})]),
    P("envision_absorbance_two_plates", (*ENV, "PE_Envision_absorbance_A450_example.csv"), "envision", 192,
      {"plate": {"1", "2"}, "read": {"abs_450"}, "metric": {"raw"}, "label": {"A450"},
       # the protocol 'Platemap' grids of '-' cells are not read as data
       "flag": {""}},
      [(well("A1", plate="1"), {"value": 0.15, "raw": "0.1500"}), (well("A4", plate="1"), {"value": 1.85}),
       (well("H12", plate="1"), {"value": 0.095}), (well("A4", plate="2"), {"value": 2.0}),
       (well("H12", plate="2"), {"value": 0.13}), (well("F5", plate="2"), {"value": 0.8})]),
    # 2 plates x (raw + crosstalk) x 4 rows x 24 columns
    P("envision_luminescence_384", (*ENV, "PE_Envision_luminescence_example01.csv"), "envision", 384,
      {"row": {"A", "E", "I", "M"}, "read": {"lum"}, "metric": {"calc_crosstalk", "raw"}},
      [(well("I8", plate="1", metric="raw"), {"value": 120.0}),
       (well("I8", plate="1", metric="calc_crosstalk"), {"raw": "120.00"}),
       (well("A7", plate="1", metric="raw"), {"value": 80.0}), (well("A1", plate="1", metric="raw"), {"value": 0.0}),
       (well("E1", plate="2", metric="raw"), {"value": 80.0}), (well("M24", plate="2", metric="raw"), {"value": 40.0}),
       (well("E1", plate="2", metric="calc_crosstalk"), {"value": 80.0})]),
    P("tecan_magellan_384", ("plate_reader", "tecan_magellan", "SLA01P01_ELISA.xlsx"), "tecan_magellan", 768,
      {"plate": {"1"}, "read": {"abs_485": 384, "abs_560": 384}, "flag": {""}},
      [(well("A1", read="abs_485"), {"value": 0.0557, "label": "Label1", "temperature_c": 24.8, "time_s": 0.0}),
       (well("A1", read="abs_560"), {"value": 0.0509, "temperature_c": 25.1}),
       (well("A13", read="abs_485"), {"value": 0.3557}), (well("P24", read="abs_485"), {"value": 0.0356}),
       (well("P24", read="abs_560"), {"raw": "0.05"})]),
    # ------------------------------------------------------------------ bead assays
    P("xponent_flexmap3d_minimal", (*LX, "luminex_xPONENT_example02_flexmap3d.csv"), "xponent", 32,
      {"plate": {"PCD00360_184221_20230517"}, "read": {"alpha", "bravo"}, "well": {"A1", "B1", "C1", "D1"},
       "analyte_unit": {"Bead"}},
      [(well("A1", read="alpha", metric="median"), {"value": 10921.5}),
       (well("D1", read="bravo", metric="count"), {"value": 42.0}),
       (well("D1", read="alpha", metric="count"), {"flag": ""}),  # 25 = Per Bead count, not below
       (well("C1", read="bravo", metric="avg_net_mfi"), {"value": 33948.0})]),
    P("xponent_magpix_serology", (*LX, "xponent_magpix_serology_CO_reduced.csv"), "xponent", 784,
      {"plate": {"IgG_CovidOise0_amiens_plate2_20211220"}, "read": ["Spike_6P_IPP", "ME_NA"],
       "metric": {"median", "net_mfi", "count", "avg_net_mfi", "mean", "cv_pct", "peak", "std_dev"}},
      [(well("A2", read="Spike_6P_IPP", metric="median"), {"value": 12722.5}),
       (well("A2", read="ME_NA", metric="median"), {"value": 1839.0}),
       (well("A1", read="Spike_6P_IPP", metric="median"), {"sample_label": "B"}),
       (well("B1", read="Spike_6P_IPP", metric="median"), {"sample_label": "Unknown2"}),
       # Avg Net MFI: eleven rows named 'S' map one-to-one onto the eleven 'S' wells A2..A12
       (well("A2", read="Spike_6P_IPP", metric="avg_net_mfi"), {"value": 12722.5}),
       (well("A12", read="Spike_6P_IPP", metric="avg_net_mfi"), {"value": 45.5}),
       (well("A12", read="ME_NA", metric="avg_net_mfi"), {"value": 25.0}),
       (well("A1", read="ME_NA", metric="median"), {"dilution": 1.0, "total_events": 1817.0})]),
    P("intelliflex_single_dataset", (*LX, "luminex_intelliflex_single_dataset.csv"), "intelliflex", 3 * 14 * 2 * 3,
      {"plate": {"PLATE_11082024_RUN000"}, "well": {"A1", "B1", "C1"},
       "read": set(["R25", "R27", "R29", "R42", "R44", "R46", "R48", "R61", "R63", "R65", "R67", "R72", "R74", "R77"]) | {f"{r} RP2" for r in ["R25", "R27", "R29", "R42", "R44", "R46", "R48", "R61", "R63", "R65", "R67", "R72", "R74", "R77"]},
       "metric": {"median", "count", "average_mfi"}, "dilution": {NAN}},
      [(well("A1", read="R25", metric="median"), {"value": 130.55469, "reporter": "RP1", "sample_label": "Unknown1"}),
       (well("A1", read="R25", metric="count"), {"value": 28.0}),
       (well("A1", read="R25 RP2", metric="median"), {"value": 6.69629, "reporter": "RP2"}),
       (well("C1", read="R77 RP2", metric="average_mfi"), {"value": 5.98047}),
       (well("C1", read="R77", metric="median"), {"sample_label": "Unknown25"})]),
    # a fragment of a Bio-Plex Manager export (no <PlateID>)
    P("bioplex_samples_fragment", ("plate_reader", "bioplex_manager", "sample_xml_example.xml"), "bioplex", 10,
      {"plate": {"1"}, "well": {"A12", "B12", "C1", "C2", "D2"}},
      # Blank 'B': RowNo=1/2, ColNo=12 → A12, B12
      [(well("A12", read="alpha", metric="fi"), {"value": 62.0, "sample_type": "blank", "sample_label": "B",
                                                 "dilution": NAN}),
       (well("C1", read="bravo", metric="fi"), {"value": 1171.0, "sample_label": "C1", "dilution": 1.0}),
       (well("D2", read="alpha", metric="fi"), {"value": 132.5}),
       # MWObsConc ReadingOK="false": the placeholder 0 is not a concentration
       (well("C1", read="alpha", metric="instrument_conc"),
        {"value": NAN, "flag": "invalid", "comment": "Data field has not been set; recovery: NotInRange"})]),
    # 48 wells x 11 value columns ('Plate_TEST001' line)
    P("msd_workbench", ("plate_reader", "msd", "msd_workbench_test_2.csv"), "msd", 48 * 11,
      {"plate": {"TEST001"}, "read": {"Test Assay 1.0"},
       "metric": {"expected_conc", "raw", "adjusted", "signal_mean", "adjusted_mean", "signal_cv_pct", "recovery_pct",
                  "recovery_mean_pct", "instrument_conc", "instrument_conc_mean", "instrument_conc_cv_pct"},
       "flag": {"": 422, "empty": 98, "not_numeric": 8}},
      [(well("A1", read="Test Assay 1.0", metric="raw"), {"value": 1000.0, "raw": "1000.0", "well0": "A01",
                                                          "sample_label": "S001", "spot": "1", "dilution": NAN}),
       (well("A2", read="Test Assay 1.0", metric="adjusted"), {"value": 1020.0}),
       (well("A1", read="Test Assay 1.0", metric="expected_conc"), {"value": 100.0}),
       (well("A1", read="Test Assay 1.0", metric="recovery_pct"), {"value": 102.5}),
       (well("A1", read="Test Assay 1.0", metric="instrument_conc"), {"value": 102.0}),
       (well("A1", read="Test Assay 1.0", metric="instrument_conc_cv_pct"), {"value": 1.2}),
       (well("A3", read="Test Assay 1.0", metric="instrument_conc"), {"value": 200.0, "sample_label": "U001",
                                                                      "dilution": 1.0}),
       (well("F3", read="Test Assay 1.0", metric="signal_cv_pct"), {"value": 0.05}),
       (well("G1", read="Test Assay 1.0", metric="expected_conc"), {"value": 1.5625}),
       # zero standard: Calc. Concentration 'NaN' → NaN + not_numeric; empty recovery → empty
       (well("H1", read="Test Assay 1.0", metric="instrument_conc"), {"value": NAN, "flag": "not_numeric",
                                                                      "raw": "NaN"}),
       (well("H1", read="Test Assay 1.0", metric="recovery_pct"), {"flag": "empty"}),
       (well("H1", read="Test Assay 1.0", metric="expected_conc"), {"value": 0.0}),
       # unknowns carry no expected concentration
       (well("A3", read="Test Assay 1.0", metric="expected_conc"), {"flag": "empty"})]),
    # ------------------------------------------------------------------ qPCR
    Q("quantstudio_txt_ntc_undetermined", ("qpcr", "thermo_qs7flex_ddct_ntc_undetermined__allotropy_example05.txt"),
      "quantstudio_txt", 16, {},
      [(well("A1"), {"target": "TGF-B", "task": "ntc", "reporter": "FAM", "sample": "", "cq": NAN,
                     "cq_raw": "Undetermined", "cq_flag": "undetermined"}),
       (well("D1"), {"sample": "Lung", "target": "TGF-B", "task": "unknown", "cq": approx(30.155, abs=1e-12),
                     "cq_flag": "",
                     **{col: approx(value, abs=1e-12) for col, value in {
                         "instrument_cq_mean": 30.115, "instrument_cq_sd": 0.051, "instrument_delta_cq_mean": -2.647,
                         "instrument_delta_cq_se": 0.150, "instrument_delta_delta_cq": 0.323, "instrument_rq": 0.800,
                         "instrument_rq_min": 0.639, "instrument_rq_max": 1.002, "instrument_threshold": 0.133,
                         "instrument_amp_score": 1.242, "instrument_cq_conf": 0.967}.items()}}),
       (well("D10"), {"instrument_rq": 1.0}),
       (well("D7"), {"cq": approx(27.542)})]),
    Q("quantstudio_txt_footer_crlf", ("qpcr", "thermo_qs7flex_ddct_with_footer__allotropy_example06.txt"),
      "quantstudio_txt", 9, {"target": {"TGF-B": 5, "GAPDH": 4}},
      [(well("H11"), {"sample": "Liver", "target": "GAPDH", "reporter": "VIC", "cq": approx(33.074),
                      "instrument_cq_mean": approx(32.768), "instrument_rq": NAN})]),
    # 95 result rows and well H11, set up but without a result row (test_io_quantstudio.py)
    Q("quantstudio_txt_standard_curve", ("qpcr", "thermo_qs7flex_standard_curve__allotropy_example04.txt"),
      "quantstudio_txt", 96, {"task": {"unknown": 72, "standard": 20, "ntc": 4}},
      [(well("A1"), {"sample": "5K", "target": "RNase P",
                     "quantity": NAN,  # an unknown's quantity is the instrument's estimate
                     "instrument_quantity": approx(5720.562), "instrument_quantity_mean": approx(5314.592),
                     "instrument_quantity_sd": approx(227.193), "instrument_slope": approx(-3.383),
                     "instrument_r2": approx(0.997), "instrument_efficiency": approx(97.505),
                     "instrument_y_intercept": approx(39.814)}),
       (well("E5"), {"task": "standard", "quantity": 10000.0, "cq": approx(26.348), "instrument_quantity": NAN}),
       (well("G11"), {"instrument_quantity": approx(11540.118)})]),
    Q("viia7_384_melt", ("qpcr", "thermo_viia7_384_ddct_sybr_melt__allotropy_example01.txt"), "quantstudio_txt", 16,
      {"plate": ["1"], "cq_flag": {""}},
      [(well("A17"), {"col": 17, "sample": "15SAMPLE_5.3", "cq": approx(18.452)}),
       (well("A1"), {"sample": "1SAMPLE_1.1", "target": "TARGET_1", "reporter": "SYBR", "cq": approx(18.717),
                     "tm": approx(78.122), "instrument_threshold": approx(0.277)}),
       (well("A11"), {"tm": approx(79.020)})]),
    Q("quantstudio_xlsx_crt_multiplex", ("qpcr", "thermo_qs7flex_ddct_crt__allotropy_example08.xlsx"),
      "quantstudio_xlsx", 36, {"cq_flag": {""}},
      [(well("A1", target="18S"), {"reporter": "VIC", "sample": "13May2022-Rh-1",
                                   "cq": approx(11.32002067565918, abs=1e-12), "cq_raw": "11.32002067565918"}),
       (well("A1", target="TJP-1 Rhesus"), {"cq": approx(26.776044845581055, abs=1e-12),
                                            "instrument_delta_cq": approx(15.456024, abs=1e-9)}),
       (well("A5", target="TJP-1 Human"), {"instrument_rq": approx(0.665483, abs=1e-12),
                                           "instrument_delta_delta_cq": approx(0.5875263, abs=1e-12),
                                           "instrument_delta_cq_mean": approx(12.515252, abs=1e-12),
                                           "instrument_cq_conf": approx(0.9362712502479553, abs=1e-12)}),
       (well("A4", target="TJP-1 Human"), {"instrument_rq": 1.0})]),
    Q("design_analysis_qs3", ("qpcr", "thermo_da_qs3_relative_quantification__allotropy_example02.xlsx"),
      "design_analysis", 156,
      {"task": {"unknown": 120, "standard": 30, "ntc": 6},
       "cq_flag": {"": 151, "undetermined;no_amp": 4, "inconclusive": 1}},
      [(well("A1", target="RNaseP"), {"task": "ntc", "cq_flag": "undetermined;no_amp"}),
       (well("A7", target="IPC"), {"cq": approx(37.79575861969039, abs=1e-12), "cq_flag": "inconclusive",
                                   "reporter": "VIC"}),
       (well("A2", target="RNaseP"), {"task": "standard", "sample": "200.0", "quantity": 200.0,
                                      "instrument_cq_mean": approx(30.566685819295202, abs=1e-12),
                                      "instrument_cq_sd": approx(0.14912906738472728, abs=1e-12),
                                      "instrument_threshold": approx(0.18979011104762067, abs=1e-12),
                                      "cq_raw": "30.63431941024927"}),
       (well("H8", target="IPC"), {"sample": "Unk_800", "task": "unknown", "quantity": NAN})]),
    Q("steponeplus_xls", ("qpcr", "thermo_steponeplus_ddct_sybr_melt__MikeAxtell_MJA_March15_2021_data.xls"),
      "steponeplus", 85,
      {"cq_flag": {"": 41, "ampnc": 20, "undetermined": 13, "undetermined;noamp;expfail": 6, "ampnc;mtp": 2,
                   "undetermined;mtp": 2, "undetermined;expfail;mtp": 1}},
      [(well("A1"), {"sample": "19WT1", "target": "miR166", "task": "unknown", "reporter": "SYBR",
                     "cq": approx(23.56201934814453, abs=1e-12), "tm": approx(83.3458480834961, abs=1e-12),
                     "instrument_efficiency": 1.0}),
       (well("A5"), {"instrument_delta_cq_mean": approx(-13.113126754760742, abs=1e-12)}),
       (well("G7"), {"sample": "8WT2_nort", "target": "IIM8", "task": "ntc", "cq_raw": "Undetermined",
                     "cq_flag": "undetermined;mtp", "tm": approx(79.90966796875),
                     "instrument_tm2": approx(61.5730094909668)}),
       (well("G10"), {"cq": approx(37.28172302246094), "cq_flag": ""})]),
    Q("sds23_rq_results", ("qpcr", "abi_7900ht_sds23_rq_results__HTqPCR_SDS_sample.txt"), "sds", 384,
      {"plate": ["Control"], "task": {"unknown"}, "instrument_task": {"Target": 380, "Endogenous Control": 4},
       "cq_flag": {"": 292, "naw": 27, "flagged": 25, "undetermined;flagged": 21, "undetermined;flagged;naw": 10,
                   "flagged;naw": 9}},
      [(well("A1"), {"sample": "Sample01", "target": "Gene1", "instrument_task": "Endogenous Control",
                     "cq": approx(11.463166, abs=1e-12), "cq_flag": ""}),
       (well("A2"), {"cq": approx(33.949196, abs=1e-12), "instrument_delta_cq_mean": approx(22.479778, abs=1e-12),
                     "instrument_delta_cq_se": approx(0.26758063, abs=1e-12),  # header '?Ct SE'
                     "instrument_delta_delta_cq_sd": 0.0, "instrument_rq": 1.0,
                     "instrument_rq_min": approx(0.4257367, abs=1e-12),
                     "instrument_rq_max": approx(2.3488696, abs=1e-12)}),
       (well("A6"), {"cq_flag": "flagged"}),
       (well("A9"), {"cq": NAN, "cq_raw": "Undetermined", "cq_flag": "undetermined;flagged"}),
       (well("P24"), {"cq": approx(29.962372, abs=1e-12)})]),
    # 24 wells x FAM, VIC; an empty Target column: the fluorophore names the target
    Q("cfx_maestro", ("qpcr", "biorad_cfxmaestro_cq_results__allotropy_example01.csv"), "cfx", 48,
      {"reporter": {"FAM", "VIC"}, "target": {"FAM", "VIC"}, "plate": {"1"}, "cq_flag": {""}},
      [(well("A1", target="FAM"), {"well0": "A01", "sample": "M3905 R Ctx", "task": "unknown", "instrument_content": "Unkn",
                                   "instrument_biological_set": "PBS Baseline",
                                   "cq": approx(21.1877528266099, abs=1e-12), "cq_raw": "21.1877528266099", "cq_flag": "",
                                   "instrument_cq_mean": approx(21.1877528266099, abs=1e-12), "quantity": NAN,
                                   "instrument_starting_quantity": NAN, "instrument_sq_mean": NAN,
                                   "instrument_sq_sd": NAN, "tm": NAN}),
       (well("D6", target="VIC"), {"sample": "M4354 R Ctx", "instrument_biological_set": "PBS 3903",
                                   "cq": approx(20.9102822371808, abs=1e-12)})]),
    Q("cfx_manager", ("qpcr", "biorad_cfx_manager_cq_results__HTqPCR_CFX_sample.txt"), "cfx", 330,
      {"target": {"GLP1": 110, "PYY": 110, "TFF1": 110}, "task": {"unknown": 282, "standard": 42, "negative_control": 6}},
      [(well("A1", target="GLP1"), {"sample": "1-SI1", "reporter": "SYBR", "cq": 37.42, "cq_flag": "",
                                    "instrument_cq_mean": approx(36.22), "instrument_cq_sd": approx(1.697),
                                    # unknown's SQ is the instrument's calculated quantity: kept aside
                                    "quantity": NAN, "instrument_starting_quantity": approx(2.183e-3)}),
       # Neg Ctrl with N/A Cq and the "Cq Mean = 0.00" quirk → NaN, never 0
       (well("A7", target="GLP1"), {"task": "negative_control", "instrument_content": "Neg Ctrl", "cq": NAN,
                                    "cq_raw": "N/A", "cq_flag": "undetermined", "instrument_cq_mean": NAN,
                                    "instrument_cq_sd": NAN, "instrument_sq_mean": NAN}),
       # all replicates of a sample missing (B01/B02) → mean NaN as well
       (well("B1", target="GLP1"), {"cq_flag": "undetermined", "instrument_cq_mean": NAN}),
       # standards: SQ → quantity
       (well("B7", target="GLP1"), {"task": "standard", "instrument_content": "Std-101", "quantity": 8.0, "cq": 28.01}),
       (well("P22", target="TFF1"), {"sample": "3-Co4", "cq": 36.14})]),
    Q("lightcycler_480", ("qpcr", "roche_lc480_absquant_2ndderivmax__HTqPCR_LightCycler_sample.txt"), "lightcycler", 384,
      {"plate": {"1"}, "reporter": {"SYBR Green (483-533)"}, "target": {""},
       "instrument_experiment": {"Demo Abs Quant with SYBR Green I_training"},
       "task": {"unknown": 341, "standard": 35, "ntc": 8}, "cq_flag": {"undetermined": 307, "": 77}},
      [(well("A1"), {"sample": "Sample 1", "cq": 16.13, "cq_raw": "16.13", "task": "unknown",
                     "instrument_concentration": approx(1.01e5), "instrument_color": "255"}),
       (well("A2"), {"cq": NAN, "cq_flag": "undetermined", "cq_raw": "", "instrument_concentration": NAN}),
       (well("F9"), {"sample": "Standard 1", "task": "standard", "quantity": 1e6, "cq": 12.64,
                     "instrument_concentration": approx(1.02e6)}),
       (well("F15"), {"quantity": 1.0, "cq": 33.25}),
       (well("P24"), {"sample": "no template control", "task": "ntc", "cq_flag": "undetermined"})]),
    Q("rdml_v10_stepone", ("qpcr", "rdml_v1_0_stepone_std__PCRuniversum_RDML.rdml"), "rdml", 24,
      {"plate": {"Run001"}, "target": {"RNase P"}, "reporter": {"FAM"}, "task": {"standard": 15, "unknown": 6, "ntc": 3},
       "instrument_target_type": {"toi"}, "instrument_experiment": {"Standard Curve Example"}},
      # react ids are well names in this v1.0 file
      [(well("A1", target="RNase P"), {"sample": "NTC_RNase P", "task": "ntc", "cq": 40.0, "cq_flag": ""}),
       (well("A4", target="RNase P"), {"cq": approx(28.96287), "quantity": NAN, "instrument_quantity": approx(2484.3098),
                                       "instrument_quantity_unit": ""}),
       (well("B2", target="RNase P"), {"sample": "STD_RNase P_10000.0", "task": "standard", "quantity": 10000.0,
                                       "instrument_quantity_unit": "other", "cq": approx(26.874498)}),
       (well("C8", target="RNase P"), {"quantity": 625.0, "cq": approx(31.035166)})]),
    # a zip starting with a spanning marker; member BioRad_qPCR_melt.xml
    Q("rdml_v11_biorad_two_runs", ("qpcr", "rdml_v1_1_biorad_melt__PCRuniversum_RDML.rdml"), "rdml", 60,
      {"plate": {"Amp Step 3_FAM": 30, "Amp Step 3_Cy5": 30}, "task": {"positive_control": 36, "unknown": 12, "ntc": 12},
       "tm": {NAN}},
      [(well("A1", target="EvaGreen", plate="Amp Step 3_FAM"),
        {"sample": "Alm12", "task": "positive_control", "reporter": "FAM", "instrument_react_id": "1",
         "cq": approx(27.7514537682101, abs=1e-12)}),
       # no <cq>: undetermined (the file holds Cq elsewhere)
       (well("A8", target="EvaGreen"), {"sample": "katG 315", "cq_flag": "undetermined", "cq": NAN}),
       (well("D10", target="EvaGreen"), {"sample": "H2O", "task": "ntc", "cq": approx(39.3137019214124)}),  # react 46
       (well("H10", target="Cy5-2_rr"), {"plate": "Amp Step 3_Cy5", "cq_flag": "undetermined", "reporter": "Cy5"})]),
    Q("rdml_v14_genorm_without_cq", ("qpcr", "rdml_v1_4_genorm__rdml-tools.rdml"), "rdml", 90,
      {"cq_flag": {"empty"}, "cq": {NAN}, "instrument_target_type": {"ref"}},
      [(well("A1", target="Eef1e1"), {"sample": "14dBZ1hearta", "instrument_n0": approx(2.27207130665046e-07, rel=1e-12),
                                      "instrument_ncopy": approx(10804.8003)}),
       # react 25 on a 16 x 24 format
       (well("B1", target="Hprt1"), {"sample": "14dBZ1hearta", "instrument_ncopy": approx(36407.8554)})]),
    Q("rdml_v14_relative", ("qpcr", "rdml_v1_4_relative__rdml-tools.rdml"), "rdml", 210,
      {"plate": {"Run Relative Quantification"}},
      [(well("A1", target="SCX"), {"sample": "Embryo 1", "task": "unknown", "reporter": "SYBR", "cq": 33.213,
                                   "instrument_amp_eff": 1.899, "instrument_ncopy": 31.9698}),
       (well("B1", target="SCX"), {"sample": "Embryo 1", "cq": 32.737}),  # react 25
       # react 315: cq -1.0 = not available
       (well("N3", target="cTNI"), {"sample": "Adult 1", "cq_raw": "-1.0", "cq_flag": "undetermined", "cq": NAN,
                                    "instrument_n0": NAN})]),
    Q("rotorgene_single_assay", ("qpcr", "qiagen_rotorgene_excel_analysed_export_semicolon__qpcr_28S_irregular.csv"),
      "rotorgene", 24,
      {"target": {"28S"}, "reporter": {"Green"}, "instrument_threshold": {0.06},
       "instrument_run": {"Brilliant III Ultra Fast SYBR Green 2021-03-16 (1).rex"}, "cq_flag": {""}},
      [({"instrument_position": 25, "target": "28S"}, {"well": "C1", "sample": "NK1", "task": "unknown", "cq": 7.49,
                                                       "cq_flag": "", "instrument_rep_ct": 7.52, "instrument_rep_ct_sd": 0.05}),
       # the replicate mean is written on the first replicate row only
       ({"instrument_position": 26, "target": "28S"}, {"well": "C2", "cq": 7.56, "instrument_rep_ct": NAN}),
       ({"instrument_position": 48, "target": "28S"}, {"well": "D12", "sample": "NK12", "cq": 8.58})]),
    # UTF-8 BOM, three blocks
    Q("rotorgene_multi_assay", ("qpcr", "qiagen_rotorgene_multi_assay_semicolon__qpcr_irregular_multi_assay.csv"),
      "rotorgene", 72,
      {"target": {"28S": 24, "HNRNPL protein": 24, "HNRNPL NMD": 24}},
      [({"instrument_position": 25, "target": "28S"}, {"cq": 7.49}),
       ({"instrument_position": 27, "target": "HNRNPL protein"},
        {"well": "C3", "sample": "NK2", "cq": 18.0, "cq_raw": "18", "instrument_rep_ct": 17.98}),
       ({"instrument_position": 47, "target": "HNRNPL NMD"},
        {"well": "D11", "sample": "NK12", "cq": 22.37, "instrument_rep_ct": 22.38, "instrument_rep_ct_sd": 0.02})]),
]


def _same(actual, expected) -> bool:
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return actual == expected


def _column(series: pd.Series, expected):
    if isinstance(expected, list):
        return pd.unique(series).tolist()
    if isinstance(expected, dict):
        return series.value_counts(dropna=False).to_dict()
    return set(series)


def _nan_safe(values):
    """Sets of floats: NaN never equals NaN, so compare all-missing columns by a marker."""
    if isinstance(values, set) and values and all(isinstance(v, float) and math.isnan(v) for v in values):
        return {"<all missing>"}
    return values


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reader_table(case, corpus):
    path = corpus(*case.path)
    df = (read_plate if case.kind == "plate" else read_qpcr)(path)
    assert df.attrs["format"] == case.format
    assert len(df) == case.n_rows
    assert df["source_file"].iloc[0].endswith(path.name)
    for name, expected in case.columns.items():
        assert _nan_safe(_column(df[name], expected)) == _nan_safe(expected), name
    for where, expected in case.spots:
        sel = pd.Series(True, index=df.index)
        for col, value in where.items():
            sel &= df[col] == value
        rows = df[sel]
        assert len(rows) == 1, (where, len(rows))
        row = rows.iloc[0]
        for col, value in expected.items():
            assert _same(row[col], value), (where, col, row[col], value)


def test_table_ids_unique():
    assert len({c.id for c in CASES}) == len(CASES)
