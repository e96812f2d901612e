"""Print the declared minimum version of every core dependency (and of the given extras) as pins.

Used by `make test-min`: CI installs these pins in a second environment and runs the evaluator and
dataset tests there, so that every floor in setup.cfg is a version that works.

    python .ci/min_versions.py dataset    # numpy==1.24 scikit-learn==1.3 datasets==4.0 ...
"""

import configparser
import re
import sys
from pathlib import Path

cfg = configparser.ConfigParser()
cfg.read(Path(__file__).resolve().parents[1] / "setup.cfg")
lines = cfg["options"]["install_requires"].split("\n")
for extra in sys.argv[1:]:
    lines += cfg["options.extras_require"][extra].split("\n")
pins = {}
for line in (x.strip() for x in lines):
    m = re.fullmatch(r"([A-Za-z0-9_.\[\]-]+)>=([0-9][0-9.]*)", line)
    if m:
        pins[m.group(1)] = f"{m.group(1)}=={m.group(2)}"
    elif line:
        raise SystemExit(f"setup.cfg: {line!r} is not NAME>=VERSION; give it a floor that CI can install")
print(" ".join(pins.values()))
