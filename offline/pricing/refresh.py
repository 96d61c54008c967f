"""Refresh a price table from the AWS Pricing API: `python -m offline.pricing.refresh [--region us-east-1]`.

Every table entry with a `query` ({serviceCode, filters}) is looked up with `pricing.get_products` (TERM_MATCH on
each filter; the Pricing API is served from us-east-1 whatever region the prices are for), its on-demand USD price is
parsed out of the price-list JSON, and `usd`, `source` and the table's `as_of` are rewritten. Entries without a query
(derived figures such as the Valkey factor) are kept as they are. Needs AWS credentials with `pricing:GetProducts`.

Rules of the parser (unit-tested on a hand-written response in the API's shape):
- only the OnDemand terms are read; a product with several price dimensions (tiers) gives the first *non-zero* tier
  by `beginRange` — the list price once any free tier is used up, which is what a sized environment pays;
- several products matching one query must agree on the price, otherwise the query is ambiguous and the refresh
  stops naming the SKUs (tighten the filters in the table rather than guess).
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from offline.pricing import table_path

PRICING_API_REGION = "us-east-1"  # the Pricing API endpoints are us-east-1 (and ap-south-1, eu-central-1)


class RefreshError(RuntimeError):
    pass


@dataclass(frozen=True)
class OnDemandPrice:
    usd: float
    unit: str
    sku: str
    description: str


def filters_for(query: Mapping[str, Any]) -> list[dict[str, str]]:
    """The get_products Filters for one table query."""
    return [{"Type": "TERM_MATCH", "Field": field, "Value": str(value)}
            for field, value in sorted(query.get("filters", {}).items())]


def parse_on_demand(price_item: str | Mapping[str, Any]) -> OnDemandPrice:
    """The on-demand USD price of one PriceList entry (a JSON string as the API returns it, or its parsed form)."""
    item = json.loads(price_item) if isinstance(price_item, str) else price_item
    sku = str(item.get("product", {}).get("sku", "?"))
    on_demand = item.get("terms", {}).get("OnDemand", {})
    dimensions = [dim for term in on_demand.values() for dim in term.get("priceDimensions", {}).values()]
    if not dimensions:
        raise RefreshError(f"SKU {sku}: no OnDemand price dimensions")
    dimensions.sort(key=lambda dim: float(dim.get("beginRange", "0")))
    for dim in dimensions:
        usd = float(dim.get("pricePerUnit", {}).get("USD", "0"))
        if usd > 0:
            return OnDemandPrice(usd=usd, unit=str(dim.get("unit", "")), sku=sku,
                                 description=str(dim.get("description", "")))
    raise RefreshError(f"SKU {sku}: every OnDemand tier is free")


def single_price(price_items: Iterable[str | Mapping[str, Any]], query: Mapping[str, Any]) -> OnDemandPrice:
    """The one price a query's products agree on."""
    prices = [parse_on_demand(item) for item in price_items]
    if not prices:
        raise RefreshError(f"no product matches {json.dumps(query, sort_keys=True)}")
    distinct = {p.usd for p in prices}
    if len(distinct) > 1:
        listed = ", ".join(f"{p.sku}={p.usd}" for p in prices)
        raise RefreshError(f"ambiguous query {json.dumps(query, sort_keys=True)}: {listed}")
    return prices[0]


def fetch_price_items(client: Any, query: Mapping[str, Any]) -> list[str]:
    """All PriceList entries for a query (paginated)."""
    items: list[str] = []
    paginator = client.get_paginator("get_products")
    for page in paginator.paginate(ServiceCode=query["serviceCode"], Filters=filters_for(query),
                                   FormatVersion="aws_v1"):
        items.extend(page.get("PriceList", []))
    return items


def refresh_document(document: dict[str, Any], client: Any, today: dt.date) -> list[str]:
    """Rewrite the prices of `document` in place; returns one line per change."""
    changes: list[str] = []
    for key, entry in sorted(document["prices"].items()):
        query = entry.get("query")
        if not query:
            continue
        found = single_price(fetch_price_items(client, query), query)
        if abs(found.usd - float(entry["usd"])) > 1e-12:
            changes.append(f"{key}: {entry['usd']} -> {found.usd} USD per {entry['unit']}")
        entry["usd"] = found.usd
        entry["source"] = (f"AWS Pricing API {query['serviceCode']} SKU {found.sku} ({found.description}), "
                           f"{today.isoformat()}")
    document["as_of"] = today.isoformat()
    document["provenance"] = ("Refreshed from the AWS Pricing API (on-demand, first non-free tier) by "
                              "offline/pricing/refresh.py; entries without a query are derived figures.")
    return changes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--table", type=Path, help="price table to refresh (default: prices-<region>.json)")
    args = parser.parse_args(argv)

    boto3 = importlib.import_module("boto3")  # only this command needs AWS (and boto3 ships no type stubs)

    path = args.table or table_path(args.region)
    document = json.loads(path.read_text())
    client = boto3.client("pricing", region_name=PRICING_API_REGION)
    try:
        changes = refresh_document(document, client, dt.datetime.now(dt.UTC).date())
    except RefreshError as error:
        print(f"refresh failed, {path.name} unchanged: {error}", file=sys.stderr)
        return 1
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{path.name}: as_of {document['as_of']}, {len(changes)} price(s) changed")
    for line in changes:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
