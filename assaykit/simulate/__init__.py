"""Simulated instrument exports with a known truth, for tests, benchmarks and demos.

:func:`random_plate_truth` draws a truth table (``plate, well, read, value, flag``) and
:func:`write_plate` writes it as an instrument would ('generic' grid CSV, BioTek Gen5
text, SoftMax Pro text), so that reading the file back must give the truth again.
:func:`simulate_qpcr_run`, :func:`write_cfx_csv` and :func:`write_quantstudio_txt`
(module :mod:`assaykit.simulate.qpcr`) do the same for qPCR runs;
:func:`simulate_th_panel`, :func:`simulate_th_batch` and :func:`write_fcs` (module
:mod:`assaykit.simulate.flow`) for flow cytometry tubes of a T-helper panel (FCS 3.1);
:func:`simulate_blot` and :func:`write_blot` (module :mod:`assaykit.simulate.blot`) render
western blots with an exact truth and write them as 16-bit TIFF images.

Examples
--------
>>> import tempfile, pathlib
>>> from assaykit.simulate import random_plate_truth, write_plate
>>> truth = random_plate_truth(seed=1)
>>> path = write_plate(truth, pathlib.Path(tempfile.mkdtemp()) / "plate.txt", "gen5")
>>> path.name
'plate.txt'
"""

from assaykit.simulate.blot import BandRow, BlotSpec, simulate_blot, write_blot
from assaykit.simulate.flow import simulate_th_batch, simulate_th_panel, write_fcs
from assaykit.simulate.plate import PLATE_FORMATS, random_plate_truth, write_plate
from assaykit.simulate.qpcr import simulate_qpcr_run, write_cfx_csv, write_quantstudio_txt

__all__ = [
    "BandRow",
    "BlotSpec",
    "PLATE_FORMATS",
    "random_plate_truth",
    "simulate_blot",
    "simulate_qpcr_run",
    "write_blot",
    "simulate_th_batch",
    "simulate_th_panel",
    "write_cfx_csv",
    "write_fcs",
    "write_plate",
    "write_quantstudio_txt",
]
