"""A map of stores drawn as SVG, with no map tiles (nothing is fetched from the internet): a simple
outline of New Zealand when the stores are there, else a plain scatter with labels."""

from __future__ import annotations

import math

# Rough coastlines (longitude, latitude), enough to place stores by eye.
NORTH_ISLAND = [
    (172.68, -34.42), (173.05, -34.45), (173.45, -34.95), (174.3, -35.25), (174.5, -35.85), (174.75, -36.3),
    (174.85, -36.8), (175.35, -36.5), (175.55, -36.55), (175.9, -37.1), (176.15, -37.6), (177.0, -37.95),
    (177.9, -37.6), (178.55, -37.7), (178.3, -38.5), (177.95, -38.75), (177.9, -39.3), (177.0, -39.5),
    (176.85, -39.8), (176.6, -40.35), (176.2, -40.9), (175.6, -41.4), (175.25, -41.6), (174.8, -41.35),
    (175.05, -40.85), (175.2, -40.4), (174.95, -39.95), (174.3, -39.6), (173.75, -39.28), (174.05, -39.0),
    (174.6, -38.4), (174.85, -37.8), (174.55, -37.1), (174.2, -36.5), (173.6, -35.7), (173.1, -35.2),
]
SOUTH_ISLAND = [
    (172.7, -40.5), (173.05, -40.85), (173.3, -41.2), (173.9, -40.85), (174.3, -41.2), (174.2, -41.75),
    (173.7, -42.4), (173.1, -43.0), (172.75, -43.55), (173.1, -43.85), (172.3, -43.9), (171.3, -44.4),
    (170.95, -45.1), (170.7, -45.9), (169.8, -46.5), (168.35, -46.6), (167.5, -46.2), (166.5, -45.7),
    (167.0, -45.0), (168.0, -44.1), (169.3, -43.6), (170.5, -42.95), (171.2, -42.45), (171.6, -41.75),
    (172.1, -40.9),
]
STEWART_ISLAND = [(167.55, -46.75), (168.2, -46.8), (168.1, -47.2), (167.5, -47.25)]
NZ_BOUNDS = (166.0, 179.0, -47.6, -34.0)  # lon min, lon max, lat min, lat max

WIDTH = 600


def _in_nz(lon: float, lat: float) -> bool:
    return NZ_BOUNDS[0] <= lon <= NZ_BOUNDS[1] and NZ_BOUNDS[2] <= lat <= NZ_BOUNDS[3]


def store_map(stores: list[dict]) -> dict:
    """{"width", "height", "outline": [svg points strings], "points": [{x, y, r, label, count, ...}],
    "unplaced": [stores without coordinates]} for stores with "lat", "lon", "count", "code", "name"."""
    placed = [s for s in stores if s.get("lat") is not None and s.get("lon") is not None]
    unplaced = [s for s in stores if s not in placed]
    nz = bool(placed) and all(_in_nz(s["lon"], s["lat"]) for s in placed)
    if nz:
        lon0, lon1, lat0, lat1 = NZ_BOUNDS
    elif placed:
        lons, lats = [s["lon"] for s in placed], [s["lat"] for s in placed]
        pad_lon, pad_lat = max(0.05, (max(lons) - min(lons)) * 0.15), max(0.05, (max(lats) - min(lats)) * 0.15)
        lon0, lon1, lat0, lat1 = min(lons) - pad_lon, max(lons) + pad_lon, min(lats) - pad_lat, max(lats) + pad_lat
    else:
        return {"width": WIDTH, "height": 0, "outline": [], "points": [], "unplaced": unplaced, "nz": False}
    mid = math.cos(math.radians((lat0 + lat1) / 2))  # equirectangular, scaled at the middle latitude
    scale = WIDTH / ((lon1 - lon0) * mid)
    height = round((lat1 - lat0) * scale)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - lon0) * mid * scale, 1), round((lat1 - lat) * scale, 1)

    outline = []
    if nz:
        for shape in (NORTH_ISLAND, SOUTH_ISLAND, STEWART_ISLAND):
            outline.append(" ".join(f"{x},{y}" for x, y in (xy(lon, lat) for lon, lat in shape)))
    most = max(s["count"] for s in placed)
    points = []
    for s in sorted(placed, key=lambda s: -s["count"]):
        x, y = xy(s["lon"], s["lat"])
        r = round(9 + 12 * math.sqrt(s["count"] / most), 1)
        right = x < WIDTH * 0.7
        points.append({**s, "x": x, "y": y, "r": r, "label_x": round(x + r + 6 if right else x - r - 6, 1),
                       "anchor": "start" if right else "end"})
    return {"width": WIDTH, "height": height, "outline": outline, "points": points, "unplaced": unplaced, "nz": nz}
