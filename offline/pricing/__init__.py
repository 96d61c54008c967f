"""The dated list-price table the offline cost estimate reads (one JSON file per region, refreshed by refresh.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICING_DIR = Path(__file__).resolve().parent


def table_path(region: str) -> Path:
    return PRICING_DIR / f"prices-{region}.json"


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    unit: str
    source: str


class UnknownPriceError(KeyError):
    """A price key the table does not list (e.g. an instance class nobody transcribed yet)."""


@dataclass(frozen=True)
class PriceTable:
    region: str
    as_of: str
    hours_per_month: int
    prices: dict[str, dict[str, Any]]
    rds_instance_vcpus: dict[str, int]

    @classmethod
    def load(cls, region: str = "us-east-1", path: Path | None = None) -> PriceTable:
        path = path or table_path(region)
        if not path.exists():
            have = sorted(p.name for p in PRICING_DIR.glob("prices-*.json"))
            raise FileNotFoundError(f"no price table for {region} ({path.name}); tables here: {', '.join(have)}")
        document = json.loads(path.read_text())
        return cls(region=document["region"], as_of=document["as_of"],
                   hours_per_month=int(document["hours_per_month"]), prices=document["prices"],
                   rds_instance_vcpus=document.get("rds_instance_vcpus", {}))

    def has(self, key: str) -> bool:
        return key in self.prices

    def price(self, key: str) -> Price:
        entry = self.prices.get(key)
        if entry is None:
            raise UnknownPriceError(key)
        return Price(key=key, usd=float(entry["usd"]), unit=str(entry["unit"]), source=str(entry["source"]))

    def usd(self, key: str) -> float:
        return self.price(key).usd
