"""Physical bounds of the scenario's numeric keys, each with its source.

A leaf module: the scenario schema (:mod:`pedgis.config`, :mod:`pedgis.schema_timeseries`) and
the readers take their limits from here.
"""

# Physical bounds of the numeric keys (every numeric key has a min and a max: a value outside is
# refused, and docs/config.md shows them; tests/test_config.py checks that none is missing).
#: A district's annual energy [kWh a⁻¹]: 100 TWh, more than Belgium's whole electricity use
#: (≈ 80 TWh a⁻¹, IEA 2022); no district comes near it.
DISTRICT_KWH_MAX = 1e11
#: A plant's power [kW]: 25 GW, more than the largest power station (Three Gorges, 22.5 GW).
PLANT_KW_MAX = 2.5e7
#: Installed PV [kWp]: 10 GWp, about three times the largest PV park (Midong, Xinjiang, 3.5 GWp, 2024).
PV_KWP_MAX = 1e7
#: Collector area [m²]: 10 km², 60 times the largest solar district-heating field (Silkeborg,
#: 156,694 m²).
COLLECTOR_M2_MAX = 1e7
#: Stored energy [kWh]: 100 GWh, 30 times the largest battery (Moss Landing, ≈ 3 GWh) and 7 times
#: the largest pit heat store (Vojens, 203,000 m³ ≈ 13 GWh).
STORAGE_KWH_MAX = 1e8
#: Specific energy need [kWh m⁻² a⁻¹]: hospitals and laboratories, the most intensive use types,
#: reach 400–1,000 kWh m⁻² a⁻¹ (CIBSE TM46 benchmarks); 2,000 leaves a margin.
SPECIFIC_KWH_M2_MAX = 2000.0
#: Heat loss coefficient per floor area [W m⁻² K⁻¹]: an uninsulated single-storey building with
#: single glazing has about 5; 20 leaves a margin.
BLC_MAX = 20.0
#: DHW per person, bed or user [kWh a⁻¹]: 25–60 l of 60 °C water a day is 400–1,000 kWh a⁻¹
#: (EN 12831-3); 10,000 leaves a margin for hotels and sports halls.
DHW_PER_UNIT_MAX = 10000.0
#: Degree-day base and threshold temperatures [°C]: bases in use lie between 12 °C and 22 °C
#: (15.5 °C UK, 18 °C Eurostat, 20 °C DIN 4108-6).
DD_TEMP_RANGE = (0.0, 30.0)
#: Heating degree days [K d]: Yakutsk, the coldest city, has ≈ 10,500 K d (base 18 °C).
HDD_MAX = 15000.0
#: Cooling degree days [K d]: the hottest cities (Kuwait City, Riyadh) have ≈ 4,500 K d (base 18 °C).
CDD_MAX = 8000.0
#: Outdoor air temperature [°C]: from the coldest (Verkhoyansk, −67.8 °C) to the hottest record
#: (Death Valley, 54 °C) measured where people live.
AIR_TEMP_RANGE = (-70.0, 60.0)
#: A heat pump's COP: the Carnot COP between a 15 °C source and 35 °C supply is 15.4.
COP_MAX = 20.0
