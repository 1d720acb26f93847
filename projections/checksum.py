"""A stable digest per read model: equal digests mean equal rows.

Rows are hashed in primary-key order over every column except the volatile
ones (such as ``projected_at``), so a rebuilt read model matches the live one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from projections.base import Projection
from projections.db import schema_of

__all__ = ["TableDigest", "checksum"]


@dataclass(frozen=True)
class TableDigest:
    table: str
    rows: int
    digest: str


async def checksum(engine: AsyncEngine, projection: Projection) -> tuple[str, list[TableDigest]]:
    schema = schema_of(engine)
    digests: list[TableDigest] = []
    async with engine.connect() as conn:
        for table in projection.tables:
            cols = [c.name for c in table.columns if c.name not in projection.volatile_columns]
            pk = [c.name for c in table.primary_key.columns]
            row = ", ".join(f'"{c}"' for c in cols)
            order = ", ".join(f'"{c}"' for c in pk)
            sql = (
                f"SELECT count(*), coalesce(md5(string_agg(md5(ROW({row})::text), '' "
                f'ORDER BY {order})), \'\') FROM "{schema}"."{table.name}"'
            )
            count, digest = (await conn.execute(text(sql))).one()
            digests.append(TableDigest(table.name, int(count), str(digest)))
    overall = hashlib.sha256(
        "|".join(f"{d.table}:{d.rows}:{d.digest}" for d in digests).encode()
    ).hexdigest()
    return overall, digests
