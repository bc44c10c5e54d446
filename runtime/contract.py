"""The input contract of an exported generator: which inputs it takes, named and typed.

Written by the export into manifest.json and the ONNX metadata; the runtime feeds a model only
as its contract says. A conditional model has a digit input beside the noise.
"""

import json

NOISE, DIGIT = "noise", "digit"
DIGITS = 10
DTYPES = {"float32", "int32", "int64"}


def make_contract(latent_dim, conditional, batch="N"):
    """The contract of a generator with this latent size; batch is "N" (dynamic) or a number."""
    contract = {NOISE: {"name": "z", "dtype": "float32", "shape": [batch, latent_dim],
                        "distribution": "N(0, 1)"}}
    if conditional:
        contract[DIGIT] = {"name": "digit", "dtype": "int32", "shape": [batch], "classes": DIGITS}
    return contract


def parse_contract(text_or_dict, source):
    """A contract read from a manifest or metadata, checked; ValueError names what is wrong."""
    contract = json.loads(text_or_dict) if isinstance(text_or_dict, str) else text_or_dict
    if not isinstance(contract, dict) or NOISE not in contract or not set(contract) <= {NOISE, DIGIT}:
        raise ValueError(f"{source}: an input contract needs a {NOISE!r} input (and optionally {DIGIT!r})")
    for role, spec in contract.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or spec.get("dtype") not in DTYPES:
            raise ValueError(f"{source}: input {role!r} needs a name and a dtype ({', '.join(sorted(DTYPES))})")
    return contract
