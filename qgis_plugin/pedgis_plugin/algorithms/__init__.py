"""The pedgis Processing algorithms (thin: parameters → library call → styled layers)."""

from .ped_balance import PedBalanceAlgorithm

ALGORITHMS = [PedBalanceAlgorithm]
