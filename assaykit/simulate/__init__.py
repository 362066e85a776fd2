"""Simulated instrument exports with a known truth, for tests, benchmarks and demos.

:func:`random_plate_truth` draws a truth table (``plate, well, read, value, flag``) and
:func:`write_plate` writes it as an instrument would ('generic' grid CSV, BioTek Gen5
text, SoftMax Pro text), so that reading the file back must give the truth again.

Examples
--------
>>> import tempfile, pathlib
>>> from assaykit.simulate import random_plate_truth, write_plate
>>> truth = random_plate_truth(seed=1)
>>> path = write_plate(truth, pathlib.Path(tempfile.mkdtemp()) / "plate.txt", "gen5")
>>> path.name
'plate.txt'
"""

from assaykit.simulate.plate import PLATE_FORMATS, random_plate_truth, write_plate

__all__ = ["PLATE_FORMATS", "random_plate_truth", "write_plate"]
