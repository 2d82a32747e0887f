"""Deterministic synthetic county generator (plain Python, no Django).

`generate_county(county_code, households, seed, out_dir, year=2025, progress=None)` writes the
registry import files, one year of department feeds with planted shocks and noise, and a ground
truth without ID numbers. See docs/synthetic-county.md.
"""

from engine.synth.county import GENERATOR_VERSION, STEPS_PER_HOUSEHOLD, SynthSummary, generate_county
from engine.synth.divisions import UnknownCountyError, load_county

__all__ = [
    "GENERATOR_VERSION",
    "STEPS_PER_HOUSEHOLD",
    "SynthSummary",
    "UnknownCountyError",
    "generate_county",
    "load_county",
]
