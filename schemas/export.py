"""The JSON Schemas of the wire messages (``finsent schemas export`` adds the DDL from ``storage``)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from schemas.documents import NewsArticle, SocialPost
from schemas.records import DeadLetter, ScoreRecord

MESSAGES: dict[str, type[BaseModel]] = {
    "news_article": NewsArticle,
    "social_post": SocialPost,
    "score_record": ScoreRecord,
    "dead_letter": DeadLetter,
}


def export_schemas(out_dir: Path) -> list[Path]:
    """Write ``<name>.schema.json`` per message; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in MESSAGES.items():
        path = out_dir / f"{name}.schema.json"
        path.write_text(json.dumps(model.model_json_schema(), indent=2) + "\n")
        written.append(path)
    return written
