"""What a model's answer cost, in tokens: its own module because the client and the errors both
carry it, and the errors must not import the client (that was an import cycle)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Usage:
    """Tokens one answer cost. ``estimated`` when the server reported none (about 4 characters a token)."""

    prompt: int = 0
    completion: int = 0
    estimated: bool = False

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def as_dict(self) -> dict[str, Any]:
        return {
            "prompt": self.prompt,
            "completion": self.completion,
            "total": self.total,
            "estimated": self.estimated,
        }
