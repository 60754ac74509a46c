"""Write synthetic events (interchange JSON Lines) for benchmarks and demos, and optionally create
the retailer, its stores and its catalogue so that the file imports cleanly.

    python bench/synthetic.py --events 100000 --out /tmp/events.jsonl [--org bench --setup]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def setup_org(slug: str, prefix: str, brand: str) -> list[str]:
    """The retailer, its stores and its catalogue (idempotent); returns the store codes."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "auror.settings")
    import django

    django.setup()
    from accounts.models import Organisation, OrgKind, Store
    from events.models import Product
    from events.synthetic import synthetic_products, synthetic_stores

    org, _ = Organisation.objects.get_or_create(slug=slug, defaults={"name": brand, "kind": OrgKind.RETAILER})
    codes = []
    for s in synthetic_stores(prefix, brand):
        Store.objects.get_or_create(organisation=org, code=s.code,
                                    defaults={"name": s.name, "region": s.region, "timezone": s.timezone})
        codes.append(s.code)
    for p in synthetic_products():
        Product.objects.update_or_create(organisation=org, sku=p.sku, defaults={
            "description": p.description, "unit_value": p.unit_value, "barcode": p.barcode})
    return codes


def write_events(out: Path, count: int, *, store_codes: list[str], seed: int, id_prefix: str) -> None:
    from events.synthetic import synthetic_events

    with open(out, "w", encoding="utf-8") as fh:
        for event in synthetic_events(count, store_codes=store_codes, seed=seed, id_prefix=id_prefix):
            fh.write(json.dumps(event, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--prefix", default="BEN", help="Store code prefix.")
    parser.add_argument("--id-prefix", default="SYN", help="external_id prefix.")
    parser.add_argument("--org", default="bench", help="With --setup: the retailer's slug.")
    parser.add_argument("--brand", default="Bench Mart")
    parser.add_argument("--setup", action="store_true", help="Create the retailer, stores and catalogue too.")
    args = parser.parse_args(argv)
    if args.setup:
        codes = setup_org(args.org, args.prefix, args.brand)
    else:
        from events.synthetic import synthetic_stores

        codes = [s.code for s in synthetic_stores(args.prefix, args.brand)]
    write_events(args.out, args.events, store_codes=codes, seed=args.seed, id_prefix=args.id_prefix)
    print(f"{args.events} events written to {args.out}")


if __name__ == "__main__":
    main()
