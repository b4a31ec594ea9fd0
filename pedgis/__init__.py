"""pedgis: Positive Energy District balance on real geodata.

Implements the 8-step MAKING-CITY calculation methodology (Gabaldón Moreno et al.,
Sustainability 2021, 13, 710, doi:10.3390/su13020710) on cadastral footprints and roof rasters.
"""

__version__ = "0.1.0"
