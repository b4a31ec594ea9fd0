"""Class breaks of the output styles, computed by hand."""

from __future__ import annotations

import pytest


def test_nice_rounds_to_two_significant_digits():
    from pedgis_plugin.styles import nice

    assert [nice(1234.0), nice(0.0456), nice(-87.9), nice(0.0)] == [1200.0, 0.046, -88.0, 0.0]


def test_balance_classes_by_hand():
    from pedgis_plugin.styles import EXPORT_COLOURS, IMPORT_COLOURS, balance_classes

    values = [-900.0, -300.0, -100.0, 10.0, 20.0, 30.0, 40.0, 1000.0]
    classes = balance_classes(values)
    # exports |v| = [100, 300, 900], quantiles 1/3 and 2/3 (linear, positions 0.67 and 1.33):
    #   100 + 0.667·200 = 233.3 → 230;  300 + 0.333·600 = 500 → 500
    # imports [10, 20, 30, 40, 1000], quantiles 0.2..0.8 (positions 0.8, 1.6, 2.4, 3.2):
    #   18, 26, 34, 40 + 0.2·960 = 232 → 230
    assert [(lo, hi) for lo, hi, _ in classes] == [
        (None, -500.0), (-500.0, -230.0), (-230.0, 0.0),
        (0.0, 18.0), (18.0, 26.0), (26.0, 34.0), (34.0, 230.0), (230.0, None),
    ]
    assert [c for _, _, c in classes] == EXPORT_COLOURS[::-1] + IMPORT_COLOURS


def test_balance_classes_only_importers_and_ties():
    from pedgis_plugin.styles import IMPORT_COLOURS, balance_classes

    # all equal: no inner break survives, one class
    assert balance_classes([5.0, 5.0, 5.0]) == [(None, None, IMPORT_COLOURS[0])]
    # no exporters: the lowest import class is open below (no empty green classes)
    classes = balance_classes([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert classes[0][0] is None and all(c in IMPORT_COLOURS for _, _, c in classes)


@pytest.mark.parametrize("probs, expected", [([0.5], [2.5]), ([0.0, 1.0], [1.0, 4.0]), ([0.25], [1.75])])
def test_quantiles_match_numpy_linear(probs, expected):
    import numpy as np
    from pedgis_plugin.styles import quantiles

    data = [4.0, 1.0, 3.0, 2.0]
    assert quantiles(data, probs) == pytest.approx(expected)
    assert quantiles(data, probs) == pytest.approx(list(np.quantile(data, probs)))
