"""Time-resolved PED balance: hourly profiles, monthly/hourly netting, storage, sharing, e-mobility.

The annual engine (steps 1-8 of Gabaldón Moreno et al. 2021) gives annual kWh per building and
carrier. This package spreads them over the 8,760 hours of the weather year with profiles whose
annual sums equal the engine's numbers, and nets imports against exports per hour or per month
(the paper's §3: Spanish DB-HE 2019 lets exports offset imports only within the month), with
batteries, thermal buffers, energy-community sharing and EV charging.

Modules are pure (numpy/pandas, no I/O but the bundled tables, no printing) and work on chunks of
buildings so that memory stays bounded for large districts.
"""
