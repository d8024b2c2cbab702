"""The shared-encoder, two-head network: one forward pass scores topic and sentiment."""

from __future__ import annotations

import torch
from torch import nn


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average token states over real tokens (the pooling all-MiniLM-L6-v2 was trained with)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


def masked_mean(hidden: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per mask ``[rows, slots, tokens]`` the mean of the token states it covers: ``[rows, slots, hidden]``."""
    summed = torch.einsum("bst,bth->bsh", masks.to(hidden.dtype), hidden)
    return summed / masks.sum(dim=-1, keepdim=True).to(hidden.dtype).clamp(min=1e-9)


class EntityHead(nn.Module):
    """Sentiment toward each mention: a linear layer over [mention mean, context mean, text mean].

    One encoder pass serves every mention of a text; the masks come from ``models.spans``.
    """

    def __init__(self, hidden: int, n_sentiments: int, dropout: float = 0.1):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(3 * hidden, n_sentiments)

    def forward(
        self, states: torch.Tensor, pooled: torch.Tensor, mention_mask: torch.Tensor, context_mask: torch.Tensor
    ) -> torch.Tensor:
        mention = masked_mean(states, mention_mask)
        context = masked_mean(states, context_mask)
        text = pooled.unsqueeze(1).expand_as(mention)
        return self.linear(self.dropout(torch.cat([mention, context, text], dim=-1)))


class MultiTaskClassifier(nn.Module):
    """A transformer encoder with a topic head and a sentiment head on its pooled output.

    With ``entity_head``, it also scores the sentiment toward each marked mention in the same pass.
    """

    HEADS = ("topic_head", "sentiment_head", "entity_head")

    def __init__(
        self, encoder: nn.Module, n_topics: int, n_sentiments: int, dropout: float = 0.1, entity_head: bool = False
    ):
        super().__init__()
        hidden = int(getattr(encoder, "config").hidden_size)  # noqa: B009 - transformers modules only
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.topic_head = nn.Linear(hidden, n_topics)
        self.sentiment_head = nn.Linear(hidden, n_sentiments)
        self.entity_head = EntityHead(hidden, n_sentiments, dropout) if entity_head else None

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = self.dropout(mean_pool(states, attention_mask))
        return self.topic_head(pooled), self.sentiment_head(pooled)

    def forward_with_entities(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        mention_mask: torch.Tensor,
        context_mask: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Topic, sentiment and per-mention sentiment logits (``[rows, slots, classes]``) of one pass."""
        if self.entity_head is None:
            raise RuntimeError("this model has no entity head")
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        pooled = mean_pool(states, attention_mask)
        dropped = self.dropout(pooled)
        entity = self.entity_head(states, pooled, mention_mask, context_mask)
        return self.topic_head(dropped), self.sentiment_head(dropped), entity

    def logits_by_task(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each head's logits under its task's name (what training, evaluation and distillation read)."""
        topic, sentiment = self(input_ids, attention_mask)
        return {"topic": topic, "sentiment": sentiment}

    def head_state(self) -> dict[str, torch.Tensor]:
        """The head weights alone, for saving beside a LoRA adapter."""
        return {
            f"{name}.{key}": value.detach().cpu().contiguous()
            for name in self.HEADS
            if getattr(self, name) is not None
            for key, value in getattr(self, name).state_dict().items()
        }

    def load_head_state(self, state: dict[str, torch.Tensor]) -> None:
        """Load the heads ``state`` holds; a model without an entity head ignores one (and keeps its own if absent)."""
        for name in self.HEADS:
            prefix = f"{name}."
            part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            if getattr(self, name) is not None and (part or name != "entity_head"):
                getattr(self, name).load_state_dict(part)
