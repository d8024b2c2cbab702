"""The shared-encoder, two-head network: one forward pass scores topic and sentiment."""

from __future__ import annotations

import torch
from torch import nn


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average token states over real tokens (the pooling all-MiniLM-L6-v2 was trained with)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class MultiTaskClassifier(nn.Module):
    """A transformer encoder with a topic head and a sentiment head on its pooled output."""

    def __init__(self, encoder: nn.Module, n_topics: int, n_sentiments: int, dropout: float = 0.1):
        super().__init__()
        hidden = int(getattr(encoder, "config").hidden_size)  # noqa: B009 - transformers modules only
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.topic_head = nn.Linear(hidden, n_topics)
        self.sentiment_head = nn.Linear(hidden, n_sentiments)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.dropout(mean_pool(states, attention_mask))
        return self.topic_head(pooled), self.sentiment_head(pooled)

    def logits_by_task(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each head's logits under its task's name (what training, evaluation and distillation read)."""
        topic, sentiment = self(input_ids, attention_mask)
        return {"topic": topic, "sentiment": sentiment}

    def head_state(self) -> dict[str, torch.Tensor]:
        """The head weights alone, for saving beside a LoRA adapter."""
        return {
            f"{name}.{key}": value.detach().cpu().contiguous()
            for name in ("topic_head", "sentiment_head")
            for key, value in getattr(self, name).state_dict().items()
        }

    def load_head_state(self, state: dict[str, torch.Tensor]) -> None:
        for name in ("topic_head", "sentiment_head"):
            prefix = f"{name}."
            getattr(self, name).load_state_dict({k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)})
