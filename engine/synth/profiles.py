"""Per-county parameters of the synthetic population (see docs/synthetic-county.md).

Figures are approximations from public statistics, chosen to look like the county; they are
not official values for any household and must not be used as policy parameters.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Profile:
    ethnicities: tuple[tuple[str, int], ...]  # (民族, weight)
    escaped_share: float  # share of 脱贫户 among households
    income_median: float  # per-capita net income median (yuan, the current year)
    income_sigma: float  # lognormal sigma
    monitoring_line: float  # synthetic monitoring line used to place households (yuan)
    migrant_share: float  # share of working-age labourers working outside the county
    label: str


# 台江县: ~97% Miao (苗族) by the county's own description; a former deep-poverty county.
TAIJIANG = Profile(
    ethnicities=(("苗族", 970), ("汉族", 15), ("侗族", 10), ("其他", 5)),
    escaped_share=0.26,
    income_median=14_000,
    income_sigma=0.42,
    monitoring_line=8_500,
    migrant_share=0.5,
    label="黔东南苗族侗族自治州台江县（苗族约97%）",
)
QIANDONGNAN = Profile(
    ethnicities=(("苗族", 45), ("侗族", 30), ("汉族", 20), ("布依族", 2), ("水族", 2), ("其他", 1)),
    escaped_share=0.22,
    income_median=14_500,
    income_sigma=0.42,
    monitoring_line=8_500,
    migrant_share=0.48,
    label="黔东南州（苗族、侗族为主）",
)
GUIZHOU = Profile(
    ethnicities=(
        ("汉族", 62),
        ("布依族", 10),
        ("苗族", 12),
        ("侗族", 5),
        ("土家族", 4),
        ("彝族", 3),
        ("仡佬族", 2),
        ("水族", 1),
        ("其他", 1),
    ),
    escaped_share=0.18,
    income_median=15_000,
    income_sigma=0.42,
    monitoring_line=8_500,
    migrant_share=0.45,
    label="贵州省农村（默认）",
)
DEFAULT = Profile(
    ethnicities=(("汉族", 95), ("回族", 1), ("满族", 1), ("壮族", 1), ("其他", 2)),
    escaped_share=0.08,
    income_median=20_000,
    income_sigma=0.45,
    monitoring_line=8_500,
    migrant_share=0.35,
    label="全国农村（默认，汉族为主）",
)

PROFILES: dict[str, Profile] = {"522630": TAIJIANG, "5226": QIANDONGNAN, "52": GUIZHOU}


def profile_for(county_code: str) -> Profile:
    """The most specific profile whose prefix matches the county code."""
    for n in (6, 4, 2):
        if county_code[:n] in PROFILES:
            return PROFILES[county_code[:n]]
    return DEFAULT
