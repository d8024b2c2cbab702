"""How many of FinEntity's labelled entity spans the mention finder finds (span overlap).

    python benchmarks/finentity_mentions.py [FILE.jsonl ...]   (default: $FINSENT_TRAINING_DATA/finentity/train.jsonl)

FinEntity labels every named organisation of a Reuters paragraph, indices, central banks and
data vendors included ("S&P 500", "Fed", "Refinitiv"), so the share found over all spans is a
floor. ``us_listed`` counts only the spans written with a US Reuters code right after them
(``Johnson & Johnson <JNJ.N>``), the companies the dictionary is meant to cover. Broker mentions
are counted apart with the labels FinEntity gives them. Prints one JSON object per file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from models.entities import Mention, extract_mentions

DEFAULT = Path(os.environ.get("FINSENT_TRAINING_DATA", "../shared/data")) / "finentity" / "train.jsonl"
US_RIC_AFTER = re.compile(r"\s*<[A-Z]{1,5}[a-z]?\.(?:N|O|OQ|A|K|P)>")


def _overlaps(mention: Mention, entity: dict[str, Any]) -> bool:
    return (
        mention.start is not None
        and mention.end is not None
        and mention.start < entity["end"]
        and entity["start"] < mention.end
    )


def measure(path: Path) -> dict[str, Any]:
    """Coverage figures of one FinEntity-format file."""
    spans = found = subject = us_listed = us_found = 0
    broker_labels: Counter[str] = Counter()
    names = names_on_span = 0
    missed: Counter[str] = Counter()
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        mentions = extract_mentions(row["text"])
        for entity in row["entities"]:
            hits = [m for m in mentions if _overlaps(m, entity)]
            spans += 1
            found += bool(hits)
            subject += any(not m.broker for m in hits)
            broker_labels.update(entity["sentiment"] for m in hits if m.broker)
            if US_RIC_AFTER.match(row["text"], entity["end"]):
                us_listed += 1
                us_found += bool(hits)
            if not hits:
                missed[entity["name"]] += 1
        on_names = [any(_overlaps(m, e) for e in row["entities"]) for m in mentions if m.kind == "name"]
        names += len(on_names)
        names_on_span += sum(on_names)
    return {
        "file": str(path),
        "entity_spans": spans,
        "found": round(found / spans, 4),
        "found_as_subject": round(subject / spans, 4),
        "us_listed_spans": us_listed,
        "us_listed_found": round(us_found / max(us_listed, 1), 4),
        "name_mentions": names,
        "name_mentions_on_a_labelled_span": round(names_on_span / max(names, 1), 4),
        "labels_of_spans_found_as_brokers": dict(broker_labels),
        "most_missed": missed.most_common(10),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=[DEFAULT])
    for path in parser.parse_args().files:
        print(json.dumps(measure(path)))


if __name__ == "__main__":
    main()
