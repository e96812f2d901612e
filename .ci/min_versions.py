"""Print the declared minimum version of every core dependency (and of the given extras) as pins.

Used by `make test-min`, `test-min-ag` and `test-min-train`: CI installs these pins in a second environment and
runs the tests of what they serve there, so that every floor in setup.cfg is a version that works.
`--skip NAME` leaves a package out (torch: only the pinned CPU build can be installed offline).

    python .ci/min_versions.py dataset                # numpy==1.24 scikit-learn==1.3 datasets==4.5 ...
    python .ci/min_versions.py train --skip torch     # ... transformers==5.2 peft==0.18 ...
"""

import argparse
import configparser
import re
from pathlib import Path

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("extras", nargs="*", help="extras of setup.cfg to add to the core dependencies")
ap.add_argument("--skip", action="append", default=[], metavar="NAME", help="leave this package out (repeatable)")
args = ap.parse_args()
cfg = configparser.ConfigParser()
cfg.read(Path(__file__).resolve().parents[1] / "setup.cfg")
lines = cfg["options"]["install_requires"].split("\n")
for extra in args.extras:
    lines += cfg["options.extras_require"][extra].split("\n")
floors = {}
for line in (x.strip() for x in lines):
    m = re.fullmatch(r"([A-Za-z0-9_.\[\]-]+)>=([0-9][0-9.]*)", line)
    if m:
        name, version = m.groups()
        key = tuple(int(part) for part in version.split("."))
        if name not in floors or key > floors[name][0]:  # two extras naming a package: the higher floor holds
            floors[name] = (key, version)
    elif line:
        raise SystemExit(f"setup.cfg: {line!r} is not NAME>=VERSION; give it a floor that CI can install")
print(" ".join(f"{name}=={version}" for name, (_, version) in floors.items() if name not in args.skip))
