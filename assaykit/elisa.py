"""Alias of :mod:`assaykit.immunoassay` so that ``assaykit.elisa.fit_curve`` works.

>>> import assaykit.elisa as elisa
>>> elisa.fit_curve is __import__("assaykit.immunoassay", fromlist=["fit_curve"]).fit_curve
True
"""

from assaykit.immunoassay import *  # noqa: F403
from assaykit.immunoassay import __all__  # noqa: F401
