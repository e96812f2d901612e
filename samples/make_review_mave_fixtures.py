"""Write the small FIXTURE files of the bundled sample sources that no real sample exists for.

Real samples of MAVE, of the Tools category of Amazon Review 2018 and of the
Amazon Review 2014 metadata are not available here (see
``samples/sources/PROVENANCE.md``), so this script writes small synthetic
files in their exact published schemas.  Every product text is invented;
ids start with ``FX`` so they can never be mistaken for real ASINs.  The
output is deterministic: rerunning it rewrites identical bytes.

    python samples/make_review_mave_fixtures.py
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "sources"

# --------------------------------------------------------------------------- MAVE

#: product category -> (noun, {attribute: values})
MAVE_CATEGORIES = {
    "Scarves": ("Scarf", {"Material": ["acrylic", "wool", "cotton", "silk"],
                          "Color": ["red", "navy blue", "charcoal gray", "ivory"],
                          "Pattern": ["striped", "plaid", "paisley"]}),
    "Guitar Strings": ("Acoustic Guitar Strings", {"Gauge": ["light", "medium", "extra light"],
                                                   "Winding Material": ["phosphor bronze", "nickel plated steel"],
                                                   "Core Material": ["hex core steel", "round core steel"]}),
    "Backpacks": ("Backpack", {"Material": ["nylon", "polyester", "canvas"],
                               "Capacity": ["20 liters", "35 liters", "28 liters"],
                               "Closure Type": ["zipper", "drawstring", "buckle"]}),
    "Coffee Mugs": ("Coffee Mug", {"Material": ["ceramic", "stainless steel", "porcelain"],
                                   "Capacity": ["12 oz", "16 oz", "20 oz"],
                                   "Finish": ["matte", "glossy"]}),
    "Sunglasses": ("Sunglasses", {"Lens Color": ["gray", "brown", "green"],
                                  "Frame Material": ["metal", "acetate", "titanium"],
                                  "Lens Type": ["polarized", "mirrored", "gradient"]}),
    "Flashlights": ("Flashlight", {"Power Source": ["rechargeable", "battery powered"],
                                   "Brightness": ["1000 lumens", "300 lumens", "600 lumens"],
                                   "Water Resistance Level": ["waterproof", "water resistant"]}),
    "Dresses": ("Dress", {"Sleeve Length": ["short sleeve", "long sleeve", "sleeveless"],
                          "Neckline": ["v-neck", "crew neck", "scoop neck"],
                          "Specialty Style": ["casual", "cocktail", "maxi"]}),
    "Boots": ("Boot", {"Heel Height": ["flat", "2 inch heel", "3 inch heel"],
                       "Shaft Height": ["ankle", "mid-calf", "knee high"],
                       "Closure Type": ["lace-up", "side zipper", "pull-on"]}),
    "Watches": ("Watch", {"Band Material": ["leather band", "stainless steel band", "silicone band"],
                          "Display Type": ["analog", "digital"],
                          "Case Diameter": ["40mm", "42mm", "38mm"]}),
    "Tents": ("Tent", {"Season Rating": ["3-season", "4-season"],
                       "Frame Material": ["aluminum", "fiberglass"],
                       "Occupancy": ["2 person", "4 person", "6 person"]}),
    "Headphones": ("Headphones", {"Connectivity": ["bluetooth", "wired"],
                                  "Form Factor": ["over-ear", "on-ear", "in-ear"],
                                  "Color": ["black", "white", "rose gold"]}),
    "Rugs": ("Area Rug", {"Material": ["jute", "polypropylene", "wool"],
                          "Shape": ["rectangular", "round", "runner"],
                          "Pile Height": ["low pile", "high pile"]}),
}
BRANDS = ["Northfield", "Aldenware", "Corvale", "Brightpeak", "Tamsin & Co", "Ridgeway", "Lumora", "Kestrel"]


def _paragraph_product(rng: random.Random, pid: str, category: str, positive: bool) -> dict:
    noun, attrs = MAVE_CATEGORIES[category]
    brand = rng.choice(BRANDS)
    keys = sorted(attrs)
    chosen = {k: rng.choice(attrs[k]) for k in keys}
    in_title, in_desc, in_feat = rng.sample(keys, 3)
    title = f"{brand} {chosen[in_title].title()} {noun} for Everyday Use"
    desc = (f"This {noun.lower()} is made for daily use and easy care. "
            f"It comes in a {chosen[in_desc]} version that suits most occasions.")
    feats = [f"{chosen[in_feat].capitalize()} design", "Easy to clean", f"Backed by the {brand} one year warranty"]
    if not positive:  # negatives: the labelled attribute is never mentioned
        title = f"{brand} Classic {noun}"
        desc = f"A simple {noun.lower()} from {brand}, packed with care and shipped in a gift box."
        feats = ["Easy to clean", "Gift box included"]
    paragraphs = [{"text": title, "source": "title"}, {"text": desc, "source": "description"}]
    paragraphs += [{"text": f, "source": "feature"} for f in feats]
    paragraphs.append({"text": brand, "source": "brand"})
    attributes = []
    if positive:
        for key in rng.sample(keys, rng.choice([1, 1, 2, 3])):
            evidences = []
            for i, p in enumerate(paragraphs):
                at = p["text"].lower().find(chosen[key].lower())
                if at >= 0:
                    evidences.append({"value": p["text"][at:at + len(chosen[key])], "pid": i,
                                      "begin": at, "end": at + len(chosen[key])})
            if evidences:
                attributes.append({"key": key, "evidences": evidences})
        if not attributes:
            return _paragraph_product(rng, pid, category, positive)
    else:
        attributes = [{"key": k, "evidences": []} for k in rng.sample(keys, rng.choice([1, 2]))]
    return {"id": pid, "category": category, "paragraphs": paragraphs, "attributes": attributes}


def write_mave() -> None:
    rng = random.Random(20240101)
    cats = sorted(MAVE_CATEGORIES)
    out = ROOT / "mave"
    out.mkdir(parents=True, exist_ok=True)
    for name, positive, n, prefix in (("mave_positives.jsonl", True, 900, "FXP"), ("mave_negatives.jsonl", False, 300, "FXN")):
        with open(out / name, "w", encoding="utf-8", newline="\n") as f:
            for i in range(n):
                product = _paragraph_product(rng, f"{prefix}{i:07d}", cats[i % len(cats)], positive)
                f.write(json.dumps(product) + "\n")


# --------------------------------------------------------------------------- Amazon Review 2018 / 2014: Tools

TOOL_TYPES = [
    ("Cordless Drill", "Power & Hand Tools"), ("Circular Saw", "Power & Hand Tools"),
    ("Claw Hammer", "Power & Hand Tools"), ("Screwdriver Set", "Power & Hand Tools"),
    ("LED Work Light", "Lighting & Ceiling Fans"), ("Shop Vacuum", "Power & Hand Tools"),
    ("Tape Measure", "Measuring & Layout Tools"), ("Stud Finder", "Measuring & Layout Tools"),
    ("Extension Cord", "Electrical"), ("Wire Stripper", "Electrical"),
]
TOOL_BRANDS = ["Hartwell", "Forgeline", "Ostrom", "Baylock", "Quarry Ridge"]
REVIEW_TEXT = {
    5: "Works exactly as described and feels solid in the hand, I would buy this again without a second thought.",
    4: "Good value for the price and does the job well, although the case could be a little sturdier overall.",
    3: "It is an okay tool for light jobs around the house but it is not something I would use every day.",
    2: "The tool stopped working properly after a few weeks of use and the support team was slow to answer.",
    1: "Broke the first time I used it and the return process was a hassle, so I cannot recommend it at all.",
}


def _similar_item_html(asins: list[str], titles: dict[str, str]) -> str:
    """A ``similar_item`` string shaped like the 2018 metadata's comparison table."""
    cells = "".join(
        f'<th class="a-span2 comparison_image_title_cell" role="columnheader">'
        f'<a class="a-link-normal" href="/{titles[a].replace(" ", "-")}/dp/{a}/ref=psdc_0_t{k}">'
        f'<span class="a-size-base">{titles[a]}</span></a></th>'
        for k, a in enumerate(asins, 1)
    )
    return (' class="a-bordered a-horizontal-stripes a-spacing-extra-large a-size-base comparison-table">'
            f'<tr class="comparison_table_image_row"><td></td>{cells}</tr>')


def write_tools() -> None:
    rng = random.Random(20240102)
    n_items = 40
    asins = [f"FXT{i:07d}" for i in range(n_items)]
    titles = {}
    items = []
    for i, a in enumerate(asins):
        kind, sub = TOOL_TYPES[i % len(TOOL_TYPES)]
        brand = TOOL_BRANDS[i % len(TOOL_BRANDS)]
        titles[a] = f"{brand} {kind} Model {100 + i}"
        items.append((a, kind, sub, brand))
    meta18, meta14 = [], []
    for i, (a, kind, sub, brand) in enumerate(items):
        same_kind = [b for b, k, _, _ in items if k == kind and b != a]
        others = [b for b in asins if b != a]
        rec = {
            "category": ["Tools & Home Improvement", sub],
            "tech1": "", "description": [f"The {titles[a]} is built for home projects and weekend repairs."],
            "fit": "", "title": titles[a],
            "also_buy": rng.sample(others, 3), "image": [], "tech2": "", "brand": brand,
            "feature": [f"Durable {kind.lower()} housing", "One year limited warranty"],
            "rank": [], "also_view": rng.sample(others, 3),
            "details": {}, "main_cat": "Tools & Home Improvement",
            "similar_item": _similar_item_html(same_kind[:2], titles) if i % 2 == 0 else "",
            "date": "", "price": f"${20 + i}.99", "asin": a,
        }
        # Gaps that the 2014 metadata fills (SR item text): no title, no brand, short category.
        if i % 10 == 3:
            rec["title"] = ""
        if i % 10 == 5:
            rec["brand"] = ""
        if i % 10 == 7:
            rec["category"] = ["Tools & Home Improvement"]
        meta18.append(rec)
        meta14.append({
            "asin": a, "title": titles[a], "price": 20.0 + i, "imUrl": "",
            "related": {"also_bought": rng.sample(others, 2), "also_viewed": rng.sample(others, 2),
                        "bought_together": rng.sample(others, 1)},
            "salesRank": {"Home Improvement": 1000 + i}, "brand": brand,
            "categories": [["Tools & Home Improvement", sub]],
        })
    reviews = []
    t0 = 1_400_000_000
    for u in range(70):
        user = f"FXU{u:09d}"
        for k, a in enumerate(rng.sample(asins, rng.randint(6, 9))):
            stars = rng.choice([5, 5, 5, 4, 4, 3, 2, 1])
            reviews.append({
                "overall": float(stars), "verified": True, "reviewTime": "", "reviewerID": user, "asin": a,
                "reviewerName": "Fixture User", "reviewText": REVIEW_TEXT[stars], "summary": f"{stars} stars",
                "unixReviewTime": t0 + u * 1000 + k * 86400,
            })
    reviews.sort(key=lambda r: (r["asin"], r["unixReviewTime"]))
    out18 = ROOT / "amazon_review_2018" / "fixtures"
    out18.mkdir(parents=True, exist_ok=True)
    _write_gz(out18 / "meta_Tools_and_Home_Improvement.json.gz", [json.dumps(r) for r in meta18])
    _write_gz(out18 / "Tools_and_Home_Improvement_5.json.gz", [json.dumps(r) for r in reviews])
    out14 = ROOT / "amazon_review_2014"
    out14.mkdir(parents=True, exist_ok=True)
    _write_gz(out14 / "meta_Tools_and_Home_Improvement.json.gz", [repr(r) for r in meta14])


def _write_gz(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(data)


if __name__ == "__main__":
    write_mave()
    write_tools()
    print(f"fixtures written under {ROOT}")
