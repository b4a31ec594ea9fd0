"""The pedgis Processing algorithms (thin: parameters → library call → styled layers)."""

from .floor_areas import FloorAreasAlgorithm
from .ped_balance import PedBalanceAlgorithm
from .web_map import WebMapAlgorithm

ALGORITHMS = [PedBalanceAlgorithm, FloorAreasAlgorithm, WebMapAlgorithm]
