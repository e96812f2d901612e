"""Write the FIXTURE AmazonQA files ``fixture_qar.jsonl`` and ``val-fixture_qar.jsonl``.

The real 200-record sample (``qar.jsonl``, see ``samples/sources/PROVENANCE.md``)
holds only a few Sports, Tools and Cell-phones questions, and no answerable
descriptive Cell-phones question with a helpful answer, so AG would have no
OOD test item, and its few Electronics/Home questions may leave AG without a
validation item.  ``fixture_qar.jsonl`` has no split prefix (split by product
like ``qar.jsonl``); ``val-fixture_qar.jsonl`` is read as validation data
(the ``val-`` prefix of the published ``val-qar.jsonl``).  This script writes a handful of records in the original
AmazonQA line format whose texts were WRITTEN FOR THIS FIXTURE (they are not
AmazonQA data); every record carries ``"fixture": true`` and ids starting
with ``fixture``/``FIXTURE``.  Run from the repository root:
``python samples/make_amazonqa_fixture.py`` (deterministic).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent / "sources" / "amazonqa"
OUT = HERE / "fixture_qar.jsonl"
OUT_VAL = HERE / "val-fixture_qar.jsonl"

# (category, asin suffix, question, questionType, is_answerable, reviews, [(answer, helpful votes)])
RECORDS = [
    ("Cell_Phones_and_Accessories", "CP01", "How long does the battery last on a full charge?", "descriptive", True,
     ["The battery easily lasts two days with normal use.", "I get about a day and a half of heavy use before charging."],
     [("About two days with normal use.", 3), ("It depends on use.", 0)]),
    ("Cell_Phones_and_Accessories", "CP02", "What kind of charging cable does this case need?", "descriptive", True,
     ["The case charges through a standard micro USB cable, which is included.", "Cable is short but works fine."],
     [("A micro USB cable, one comes in the box.", 5)]),
    ("Cell_Phones_and_Accessories", "CP03", "Which phones does this car mount fit?", "descriptive", True,
     ["Holds my large phone securely, even on bumpy roads.", "The clamp opens wide enough for phones with thick cases."],
     [("Most phones up to about 6.5 inches, even with a case.", 2), ("Mine fits.", 1)]),
    ("Cell_Phones_and_Accessories", "CP04", "Does the screen protector come with an installation tool?", "yesno", False,
     ["Great clarity and the touch response is not affected.", "Arrived quickly, packaging was fine."],
     [("Not sure.", 0)]),
    ("Cell_Phones_and_Accessories", "CP05", "What color is the back of the case in person?", "descriptive", False,
     ["Shipping was fast.", "The case feels sturdy in the hand."],
     [("Dark blue.", 1)]),
    ("Cell_Phones_and_Accessories", "CP06", "How do you pair the headset with two phones?", "descriptive", True,
     ["Pairing with two phones works: hold the button until the light flashes, then pair the second phone.",
      "Sound quality is clear on calls."],
     [("Hold the power button until it flashes blue and red, then pair each phone.", 4)]),
    ("Sports_and_Outdoors", "SP01", "How heavy is the tent when packed?", "descriptive", True,
     ["Packed weight is a bit over four pounds, fine for short backpacking trips.", "Easy to set up alone."],
     [("A little over four pounds.", 2)]),
    ("Sports_and_Outdoors", "SP02", "Is the water bottle dishwasher safe?", "yesno", False,
     ["Keeps water cold all day on hikes.", "The lid seals well and does not leak in my bag."],
     [("I hand wash mine.", 0)]),
    ("Sports_and_Outdoors", "SP03", "What size ball does this pump fit?", "descriptive", False,
     ["Pump is compact and fits in my gym bag.", "Works quickly."],
     [("All standard sizes.", 1)]),
    ("Sports_and_Outdoors", "SP04", "Can the yoga mat be used outdoors on grass?", "descriptive", True,
     ["I use this mat outside on the lawn every morning and it cleans up easily.", "Good grip and thickness."],
     [("Yes, it works well on grass and wipes clean.", 3)]),
    ("Tools_and_Home_Improvement", "TL01", "Does the drill come with a battery and charger?", "yesno", True,
     ["The kit includes one battery and a charger, plus a carrying case.", "Plenty of power for home projects."],
     [("Yes, one battery and a charger.", 6)]),
    ("Tools_and_Home_Improvement", "TL02", "How bright is this work light compared to a 100 watt bulb?", "descriptive", False,
     ["The stand is solid and folds flat.", "Cord is long enough for my garage."],
     [("Brighter, I think.", 0)]),
    ("Tools_and_Home_Improvement", "TL03", "What is the maximum opening of this wrench?", "descriptive", True,
     ["The jaw opens to about one and a quarter inches, enough for most plumbing nuts.", "Solid feel."],
     [("About 1.25 inches.", 2)]),
    ("Tools_and_Home_Improvement", "TL04", "Can this tape measure lock in place?", "yesno", True,
     ["The lock button holds the blade firmly at any length.", "Easy to read markings."],
     [("Yes, there is a lock button.", 1)]),
    ("Electronics", "EL01", "How long is the HDMI cable?", "descriptive", True,
     ["The six foot length reaches from my TV to the receiver easily.", "Picture is sharp."],
     [("Six feet.", 2)]),
    ("Home_and_Kitchen", "HK01", "How many cups does the coffee maker brew?", "descriptive", True,
     ["It brews up to twelve cups and keeps them warm for two hours.", "Easy to clean."],
     [("Up to twelve cups.", 4)]),
]

#: Validation-only records (written to ``val-fixture_qar.jsonl``).
VAL_RECORDS = [
    ("Electronics", "EL02", "What is the range of this wireless speaker?", "descriptive", True,
     ["The speaker keeps playing from about thirty feet away, even through a wall.", "Battery lasts all day."],
     [("Around thirty feet in my house.", 3)]),
    ("Electronics", "EL03", "Which memory cards does the camera accept?", "descriptive", True,
     ["It takes standard SD cards; I use a 64 GB card without problems.", "Photos are sharp in daylight."],
     [("Standard SD cards, up to at least 64 GB.", 2)]),
    ("Home_and_Kitchen", "HK02", "How do you clean the blender jar?", "descriptive", True,
     ["Cleaning is easy: add warm water and a drop of soap and run it for thirty seconds.", "Very powerful motor."],
     [("Blend warm soapy water for a few seconds, then rinse.", 5)]),
    ("Home_and_Kitchen", "HK03", "What are the dimensions of the rug?", "descriptive", True,
     ["The rug measures five by seven feet and lies flat after a day.", "Colors match the photos."],
     [("Five by seven feet.", 1)]),
    ("Sports_and_Outdoors", "SP05", "Does the bike lock come with a mounting bracket?", "yesno", True,
     ["The lock includes a bracket that clamps to the frame.", "Feels strong."],
     [("Yes, a frame bracket is included.", 2)]),
    ("Tools_and_Home_Improvement", "TL05", "Is the ladder rated for outdoor use?", "yesno", False,
     ["Folds flat for storage in the garage.", "Arrived with a small dent."],
     [("Probably.", 0)]),
]


def _write(path: Path, records, start: int) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for i, (cat, asin, question, qtype, answerable, reviews, answers) in enumerate(records, start):
            rec = {
                "qid": f"fixture-{i:03d}",
                "asin": f"FIXTURE{asin}",
                "category": cat,
                "questionText": question,
                "questionType": qtype,
                "review_snippets": reviews,
                "answers": [{"answerText": a, "answerType": "?", "helpful": [v, v]} for a, v in answers],
                "is_answerable": answerable,
                "fixture": True,
            }
            f.write(json.dumps(rec) + "\n")


def main() -> None:
    _write(OUT, RECORDS, 1)
    _write(OUT_VAL, VAL_RECORDS, len(RECORDS) + 1)
    print(f"wrote {len(RECORDS)} + {len(VAL_RECORDS)} fixture records to {OUT} and {OUT_VAL}")


if __name__ == "__main__":
    main()
