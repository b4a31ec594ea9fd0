"""A district.json with a dozen carriers and systems (the Sankey's crowded case), consistent by
construction: every need is met by its system, every carrier's input is delivered or on site."""

CARRIERS = ["electricity", "natural_gas", "biomass", "district_heat", "pv_electricity", "ambient_air", "biogas",
            "heating_oil", "lpg", "wood_pellets", "district_cooling", "solar_thermal"]
SERVICES = ["sh", "sc", "dhw", "lighting", "ventilation", "appliances"]
ONSITE = {"pv_electricity", "ambient_air", "solar_thermal"}


def busy_district() -> dict:
    uses, carriers, needs = [], [], {}
    pei_total = pee_total = 0.0
    for k, c in enumerate(CARRIERS):
        service, need = SERVICES[k % len(SERVICES)], 40_000.0 * (1 + (k * 7) % 11) ** 1.6
        needs[service] = needs.get(service, 0.0) + need
        inp = 1.1 * need  # 10 % conversion and distribution losses
        uses.append({"service": service, "system": f"system_{k}", "need_kwh": need, "input_kwh": inp,
                     "carrier": c})
        delivered = 0.0 if c in ONSITE else inp
        exported = 60_000.0 * (k + 1) if c in ("electricity", "pv_electricity", "district_heat") else 0.0
        pef = 1.6 if k % 2 else 0.7  # above and below 1: both weighting paths
        pei, ren = delivered * pef * 0.8, delivered * pef * 0.2
        pee, ren_e = exported * 1.3, exported * 0.1
        pei_total += pei
        pee_total += pee
        carriers.append({"carrier": c, "delivered_kwh": delivered, "onsite_kwh": inp - delivered,
                         "exported_kwh": exported, "pei_kwh": pei, "pee_kwh": pee,
                         "pe_ren_delivered_kwh": ren, "pe_ren_exported_kwh": ren_e})
    return {"scenario": "Busy district", "ped_balance_kwh": pei_total - pee_total, "is_ped": pei_total < pee_total,
            "breakdown": {"needs": needs, "uses": uses, "generation": [], "carriers": carriers}}
