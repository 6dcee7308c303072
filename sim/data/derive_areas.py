#!/usr/bin/env python3
"""Derive the Guardian demo patrol areas (``sim/data/demo-areas.geojson``).

Guardian is an app core for police Targeted Guardian Patrols (TGPs): small
hotspot polygons that officers patrol at set times.  This script turns the
read-only fixtures in ``../shared/fixtures`` (see SOURCES.md there) into a
GeoJSON FeatureCollection of demo areas:

Part 1 - Birmingham city-centre hotspots (``crime/birmingham-city-centre-2017.csv``,
    data.police.uk street-level crime, Jan-Nov 2017).  Every record is weighted
    by a simple harm weight for its crime type (``HARM_WEIGHTS``); the records
    are pooled at police.uk's anonymised snap points; hotspots are picked
    greedily by harm density (sum of harm weights within ``CLUSTER_RADIUS_M``),
    each hotspot's centre is refined by weighted mean shift, and the hotspot is
    drawn as the convex hull of its cluster's snap points buffered by
    ``HOTSPOT_BUFFER_M``.  Hotspots are kept ``HOTSPOT_GAP_M`` apart.  The
    Stephenson Street / New Street station hotspot ("The Ramp") is pinned
    because the source paper names it, with its 22:00-00:00 daily window; it
    also carries a synthetic ~20 m "station footprint" hole so that importers
    are exercised on interior rings.

Part 2 - areas around the real GPS tracks in ``tracks/``.  For each track the
    script searches for the longest contiguous run of fixes (at most
    ``TRACK_MAX_INSIDE_FRACTION`` of the fixes end up inside) whose convex hull,
    buffered by ``TRACK_BUFFER_M``, is entered exactly once: the track starts
    outside, enters, stays inside, leaves and ends outside.  Fixes that are
    more than ``TRACK_FAR_ALONG_M`` (along the track) away from the inside
    stretch must be at least ``TRACK_FAR_CLEARANCE_M`` outside the boundary,
    and the inside stretch may not contain a position jump (``TRACK_JUMP_M``)
    or a recording gap (``TRACK_BREAK_GAP_S``).  Plus ``demo-nowhere``, a
    small area in Birmingham that no track enters.

Everything is deterministic (no randomness, no clock, no network) and uses
only the Python 3.11 standard library.  Distances and areas use a local
equirectangular projection (metres) around a reference point; at the sizes
involved (< 2 km) its error is far below the GPS noise.

Usage (from the repository root)::

    python3 sim/data/derive_areas.py [--fixtures DIR] [--out FILE]

Defaults: ``--fixtures ../shared/fixtures`` (relative to the repository root,
i.e. the parent of this script's ``sim/data`` directory) and
``--out sim/data/demo-areas.geojson`` (next to this script).

The script prints a summary table and validates its own output (closed rings,
CCW exteriors / CW holes, no NaN, no self-intersections, positive areas, no
overlapping hotspots, every track's enter-once-leave-once property re-checked
on the rounded coordinates).  It exits non-zero if a check fails.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import csv
import datetime as dt
import json
import math
import os
import re
import sys
import xml.etree.ElementTree as ET

# ---------------------------------------------------------------------------
# Parameters (all documented in sim/data/README.md)
# ---------------------------------------------------------------------------

EARTH_RADIUS_M = 6371008.8  # mean Earth radius (IUGG)
COORD_DECIMALS = 6  # ~0.11 m in latitude

# Harm weight per data.police.uk crime type (the 14 categories in the CSV).
# A deliberately simple 1-10 scale in the spirit of crime harm indices:
# offences against the person high, acquisitive crime middle, anti-social
# behaviour and shoplifting low.  "violent-crime" is police.uk's 2017
# "violence and sexual offences" category.
HARM_WEIGHTS = {
    "violent-crime": 10,
    "robbery": 8,
    "possession-of-weapons": 8,
    "burglary": 4,
    "theft-from-the-person": 4,
    "drugs": 3,
    "public-order": 3,
    "criminal-damage-arson": 3,
    "vehicle-crime": 2,
    "other-theft": 2,
    "bicycle-theft": 2,
    "other-crime": 2,
    "shoplifting": 1,
    "anti-social-behaviour": 1,
}
DEFAULT_HARM_WEIGHT = 1  # for a type not in the table (none in the fixture)

# police.uk names many snap points after the kind of place rather than a
# street ("On or near Nightclub").  Hotspots are named after the most common
# *street* among their records; these labels are skipped for naming.
GENERIC_LABELS = {
    "Bus/coach Station",
    "Conference/exhibition Centre",
    "Further/higher Educational Building",
    "Hospital",
    "Nightclub",
    "Park/open Space",
    "Parking Area",
    "Pedestrian Subway",
    "Petrol Station",
    "Police Station",
    "Shopping Area",
    "Sports/recreation Area",
    "Supermarket",
    "Theatre/concert Hall",
}

HOTSPOT_COUNT = 7  # including the pinned one
CLUSTER_RADIUS_M = 120.0  # harm-density and cluster radius
MEAN_SHIFT_ITERATIONS = 10
HOTSPOT_BUFFER_M = 40.0  # buffer around the convex hull of a cluster
HOTSPOT_GAP_M = 60.0  # minimum distance between two hotspot polygons
POLYGON_SIDES = 24  # the buffer "circle" is a regular 24-gon
NAME_FALLBACK_RADIUS_M = 150.0  # if a hotspot has only place-type labels
HOLE_CLEARANCE_M = 10.0  # hole ring at least this far inside the exterior ring
HOLE_SEARCH_STEP_M = 5.0  # hole centre search grid around the polygon centroid
HOLE_SEARCH_RADIUS_M = 60.0

# Patrol windows (Europe/London local time; a window whose end is not after
# its start crosses midnight and belongs to the day it starts on).  Rules, in
# order, applied to each non-pinned hotspot's records:
#   night-time economy: >= NIGHTLIFE_SHARE of records at "Nightclub" points
#   retail:             >= RETAIL_SHARE shoplifting + other-theft + theft-from-the-person
#   otherwise:          evening
# and the hotspot whose harm is most concentrated in June-September (largest
# summer share / (4/11)) also gets the seasonal WINDOW_SUMMER.
NIGHTLIFE_SHARE = 0.25
RETAIL_SHARE = 0.40
RETAIL_TYPES = ("shoplifting", "other-theft", "theft-from-the-person")
WINDOWS_NIGHTLIFE = [{"days": ["fri", "sat"], "start": "23:00", "end": "02:00"}]
WINDOWS_RETAIL = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                   "start": "16:00", "end": "20:00"}]
WINDOWS_EVENING = [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                    "start": "18:00", "end": "22:00"}]
WINDOW_SUMMER = {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                 "start": "19:00", "end": "23:00", "from": "06-01", "to": "09-30"}
SUMMER_MONTHS = ("06", "07", "08", "09")
DATA_MONTHS = 11  # Jan-Nov 2017

# The force's own TGP at the New Street station ramp (named in the source
# paper, with its 22:00-00:00 daily patrol window).  Its cluster is every snap
# point within `radius_m` of the anchor; no mean shift, so it stays put.
PINNED_HOTSPOTS = [
    {
        "id": "bham-stephenson-st",
        "name": "Stephenson Street (The Ramp)",
        "lat": 52.4785,
        "lon": -1.8985,
        "radius_m": 100.0,
        "include_streets": ["Stephenson Street"],
        "include_within_m": 200.0,
        "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                     "start": "22:00", "end": "00:00"}],
        "why": "pinned: the source paper names Stephenson Street / the New "
               "Street station ramp as a TGP patrolled 22:00-00:00 daily",
        "hole_radius_m": 20.0,
    },
]

# "Never arrives" area: a small 12-gon ~2.5 km south of the city-centre
# hotspots (outside the crime extract); no track in tracks/ comes near it.
# Its name is completed with the Birmingham ward that contains it.
NOWHERE = {
    "id": "demo-nowhere",
    "name": "No-arrival demo area",
    "lat": 52.4556,
    "lon": -1.8975,
    "radius_m": 60.0,
    "sides": 12,
    "windows": [{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                 "start": "19:00", "end": "20:00"}],
}
NOWHERE_MIN_DISTANCE_M = 1000.0  # from every hotspot and every track fix

# Track areas: (id, file, human name)
TRACKS = [
    ("trk-freiburg", "simplify-relative.gpx", "Freiburg city walk"),
    ("trk-cerknica", "cerknicko-jezero.gpx", "Cerknica lake walk"),
    ("trk-garmin", "garmin-activity.gpx", "Garmin jog"),
    ("trk-mtk", "mtk_logger.gpx", "Gothenburg MTK logger track"),
    ("trk-skytraq", "skytraq-miniHomer2_8.gpx", "SkyTraq miniHomer 10 Hz"),
    ("trk-mojstrovka", "Mojstrovka.gpx", "Mojstrovka hike"),
    ("trk-korita", "korita-zbevnica.gpx", "Korita - Zbevnica hike"),
    ("trk-with-accuracy", "with_accuracy.gpx", "Cycling track with accuracy fields"),
]
TRACK_BUFFER_M = 30.0  # buffer around the convex hull of the chosen run
TRACK_MAX_INSIDE_FRACTION = 0.60  # at most this share of fixes inside
TRACK_FAR_ALONG_M = 60.0  # fixes further than this along the track ...
TRACK_FAR_CLEARANCE_M = 10.0  # ... from the inside stretch are this far outside
TRACK_END_CLEARANCE_M = 25.0  # first and last fix at least this far outside
TRACK_JUMP_M = 500.0  # a step longer than this is a jump (position spike / teleport)
TRACK_BREAK_GAP_S = 3600.0  # a time gap longer than this separates two outings
# the chosen run may contain neither a jump nor such a gap
TRACK_THIN_M = 8.0  # hull input thinning (every fix within 2x this of an input)
TRACK_SEARCH_STARTS = 160  # start positions tried per run length
TRACK_SEARCH_FRACTIONS = [f / 100 for f in range(60, 0, -2)]  # run lengths tried
TRACK_CLOCK_MIN_YEAR = 1990  # timestamps before this are a broken clock

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


# ---------------------------------------------------------------------------
# Projection and plane geometry
# ---------------------------------------------------------------------------

class LocalProjection:
    """Equirectangular projection to metres around (lat0, lon0)."""

    def __init__(self, lat0: float, lon0: float):
        self.lat0 = lat0
        self.lon0 = lon0
        self.kx = math.radians(1.0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
        self.ky = math.radians(1.0) * EARTH_RADIUS_M

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        return ((lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky)

    def to_ll(self, x: float, y: float) -> tuple[float, float]:
        return (self.lat0 + y / self.ky, self.lon0 + x / self.kx)


def cross(o, a, b) -> float:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points):
    """Andrew's monotone chain; CCW, no repeated first point, collinear points dropped."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts
    lower = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def regular_polygon(cx, cy, radius, sides, phase=0.0):
    """CCW regular polygon (open ring) with the given circumradius."""
    return [(cx + radius * math.cos(phase + 2 * math.pi * k / sides),
             cy + radius * math.sin(phase + 2 * math.pi * k / sides))
            for k in range(sides)]


def buffered_hull(points, buffer_m, sides=POLYGON_SIDES):
    """Convex hull of `points` grown by `buffer_m` (open CCW ring).

    It is the Minkowski sum of the hull with a regular `sides`-gon whose
    *inradius* is `buffer_m`, so the result contains every point within
    `buffer_m` of the hull (the true buffer) and is convex, hence simple.
    """
    hull = convex_hull(points)
    circumradius = buffer_m / math.cos(math.pi / sides)
    # phase pi/sides puts flat sides (not corners) at 0, 90, 180, 270 deg
    offsets = regular_polygon(0.0, 0.0, circumradius, sides, phase=math.pi / sides)
    cloud = [(hx + ox, hy + oy) for hx, hy in hull for ox, oy in offsets]
    return convex_hull(cloud)


def ring_area(ring) -> float:
    """Signed shoelace area of an open ring (positive = CCW)."""
    s = 0.0
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        s += x1 * y2 - x2 * y1
    return s / 2.0


def ring_centroid(ring):
    a = ring_area(ring)
    cx = cy = 0.0
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        f = x1 * y2 - x2 * y1
        cx += (x1 + x2) * f
        cy += (y1 + y2) * f
    return (cx / (6 * a), cy / (6 * a))


def point_in_ring(p, ring) -> bool:
    """Even-odd ray casting; `ring` is open (last != first)."""
    x, y = p
    inside = False
    n = len(ring)
    j = n - 1
    for i in range(n):
        xi, yi = ring[i]
        xj, yj = ring[j]
        if (yi > y) != (yj > y):
            xc = xj + (y - yj) * (xi - xj) / (yi - yj)
            if x < xc:
                inside = not inside
        j = i
    return inside


def point_in_polygon(p, rings) -> bool:
    """rings[0] exterior, rings[1:] holes (open rings)."""
    if not point_in_ring(p, rings[0]):
        return False
    return not any(point_in_ring(p, hole) for hole in rings[1:])


def dist_point_segment(p, a, b) -> float:
    ax, ay = a
    bx, by = b
    px, py = p
    dx, dy = bx - ax, by - ay
    L2 = dx * dx + dy * dy
    t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / L2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def dist_point_ring(p, ring) -> float:
    """Distance from p to the boundary of an open ring."""
    n = len(ring)
    return min(dist_point_segment(p, ring[i], ring[(i + 1) % n]) for i in range(n))


def dist_point_boundary(p, rings) -> float:
    return min(dist_point_ring(p, r) for r in rings)


def segments_intersect(p1, p2, p3, p4) -> bool:
    """True if closed segments p1p2 and p3p4 share a point."""
    d1 = cross(p3, p4, p1)
    d2 = cross(p3, p4, p2)
    d3 = cross(p1, p2, p3)
    d4 = cross(p1, p2, p4)
    if ((d1 > 0 and d2 < 0) or (d1 < 0 and d2 > 0)) and \
       ((d3 > 0 and d4 < 0) or (d3 < 0 and d4 > 0)):
        return True

    def on_seg(a, b, c):  # c collinear with ab: within its box?
        return min(a[0], b[0]) <= c[0] <= max(a[0], b[0]) and \
            min(a[1], b[1]) <= c[1] <= max(a[1], b[1])
    if d1 == 0 and on_seg(p3, p4, p1):
        return True
    if d2 == 0 and on_seg(p3, p4, p2):
        return True
    if d3 == 0 and on_seg(p1, p2, p3):
        return True
    if d4 == 0 and on_seg(p1, p2, p4):
        return True
    return False


def ring_is_simple(ring) -> bool:
    """No two non-adjacent edges of the open ring touch."""
    n = len(ring)
    edges = [(ring[i], ring[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                continue  # adjacent edges share a vertex
            if segments_intersect(*edges[i], *edges[j]):
                return False
    return True


def rings_touch(r1, r2) -> bool:
    n1, n2 = len(r1), len(r2)
    for i in range(n1):
        for j in range(n2):
            if segments_intersect(r1[i], r1[(i + 1) % n1], r2[j], r2[(j + 1) % n2]):
                return True
    return False


def polygon_distance(r1, r2) -> float:
    """Distance between two polygons given by open exterior rings (0 if they meet)."""
    if rings_touch(r1, r2) or point_in_ring(r1[0], r2) or point_in_ring(r2[0], r1):
        return 0.0
    d1 = min(dist_point_ring(p, r2) for p in r1)
    d2 = min(dist_point_ring(p, r1) for p in r2)
    return min(d1, d2)


# ---------------------------------------------------------------------------
# GeoJSON helpers
# ---------------------------------------------------------------------------

def rings_xy_to_geojson(rings_xy, proj: LocalProjection):
    """Open xy rings -> closed, rounded [lon, lat] rings (exterior CCW, holes CW)."""
    out = []
    for k, ring in enumerate(rings_xy):
        ring = list(ring)
        want_ccw = (k == 0)
        if (ring_area(ring) > 0) != want_ccw:
            ring.reverse()
        coords = []
        for x, y in ring:
            lat, lon = proj.to_ll(x, y)
            c = [round(lon, COORD_DECIMALS), round(lat, COORD_DECIMALS)]
            if not coords or c != coords[-1]:
                coords.append(c)
        if len(coords) > 1 and coords[-1] == coords[0]:
            coords.pop()
        coords.append(list(coords[0]))  # close
        out.append(coords)
    return out


def geojson_rings_to_xy(coords, proj: LocalProjection):
    """Closed [lon, lat] rings -> open xy rings."""
    return [[proj.to_xy(lat, lon) for lon, lat in ring[:-1]] for ring in coords]


def feature(props, rings):
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": rings}}


# ---------------------------------------------------------------------------
# Part 1: Birmingham hotspots
# ---------------------------------------------------------------------------

SnapPoint = collections.namedtuple(
    "SnapPoint", "lat lon x y count harm types streets months")


def load_crime(path):
    """Pool the CSV records at their snap points."""
    agg = {}
    n_records = 0
    unknown_types = collections.Counter()
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            n_records += 1
            key = (row["latitude"], row["longitude"])
            a = agg.setdefault(key, {"count": 0, "harm": 0, "types": collections.Counter(),
                                     "streets": collections.Counter(),
                                     "months": collections.Counter()})
            t = row["type"]
            w = HARM_WEIGHTS.get(t)
            if w is None:
                unknown_types[t] += 1
                w = DEFAULT_HARM_WEIGHT
            a["count"] += 1
            a["harm"] += w
            a["types"][t] += 1
            street = row["street"].strip()
            if street.lower().startswith("on or near "):
                street = street[len("on or near "):]
            a["streets"][street] += 1
            a["months"][row["month"]] += w
    lats = [float(k[0]) for k in agg]
    lons = [float(k[1]) for k in agg]
    proj = LocalProjection((min(lats) + max(lats)) / 2, (min(lons) + max(lons)) / 2)
    points = []
    for (slat, slon), a in sorted(agg.items(), key=lambda kv: (float(kv[0][0]), float(kv[0][1]))):
        lat, lon = float(slat), float(slon)
        x, y = proj.to_xy(lat, lon)
        points.append(SnapPoint(lat, lon, x, y, a["count"], a["harm"], a["types"],
                                a["streets"], a["months"]))
    return points, proj, n_records, unknown_types


def weighted_centre(pts):
    w = sum(p.harm for p in pts)
    return (sum(p.x * p.harm for p in pts) / w, sum(p.y * p.harm for p in pts) / w)


def within(pool, cx, cy, r):
    return [p for p in pool if math.hypot(p.x - cx, p.y - cy) <= r]


def cluster_profile(pts):
    types = collections.Counter()
    streets = collections.Counter()
    months = collections.Counter()
    for p in pts:
        types.update(p.types)
        streets.update(p.streets)
        months.update(p.months)
    real = [(n, s) for s, n in streets.items() if s not in GENERIC_LABELS]
    # most common real street; ties broken alphabetically for determinism
    real.sort(key=lambda t: (-t[0], t[1]))
    top_street = real[0][1] if real else None
    generic = sorted(((n, s) for s, n in streets.items() if s in GENERIC_LABELS),
                     key=lambda t: (-t[0], t[1]))
    return types, streets, months, top_street, generic


def slugify(text: str) -> str:
    s = text.lower().replace("'", "")
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    s = re.sub(r"\bstreet\b", "st", s)
    return s


def mean_shift(pool, x, y, radius):
    """Flat-kernel, harm-weighted mean shift from (x, y) to a local density mode."""
    for _ in range(MEAN_SHIFT_ITERATIONS):
        near = within(pool, x, y, radius)
        nx, ny = weighted_centre(near)
        moved = math.hypot(nx - x, ny - y)
        x, y = nx, ny
        if moved < 0.5:
            break
    return x, y


def derive_hotspots(points, proj):
    """Harm-density hotspots with non-maximum suppression.

    1. the pinned hotspot(s) first;
    2. from every snap point, mean-shift to a harm-density mode; the candidate
       is the set of snap points within CLUSTER_RADIUS_M of the mode, scored by
       their total harm weight;
    3. candidates in descending score; a candidate is accepted if its polygon
       (convex hull of its snap points + HOTSPOT_BUFFER_M) stays at least
       HOTSPOT_GAP_M away from every accepted hotspot.
    A hotspot's records are all records at snap points inside its polygon.
    """
    hotspots = []

    def try_accept(spec, cluster, centre, pinned, score):
        ring = buffered_hull([(p.x, p.y) for p in cluster], HOTSPOT_BUFFER_M)
        for h in hotspots:
            if polygon_distance(ring, h["rings"][0]) < HOTSPOT_GAP_M:
                return False
        members = [p for p in points if point_in_ring((p.x, p.y), ring)]
        hotspots.append({"spec": spec, "cluster": members, "centre": centre,
                         "rings": [ring], "pinned": pinned, "score": score})
        return True

    for spec in PINNED_HOTSPOTS:
        cx, cy = proj.to_xy(spec["lat"], spec["lon"])
        cluster = within(points, cx, cy, spec["radius_m"])
        for street in spec.get("include_streets", []):
            # also the snap point(s) police.uk names after the street itself
            cluster += [p for p in points if p not in cluster
                        and p.streets.most_common(1)[0][0] == street
                        and math.hypot(p.x - cx, p.y - cy) <= spec["include_within_m"]]
        if not try_accept(spec, cluster, (cx, cy), True, sum(p.harm for p in cluster)):
            raise SystemExit(f"pinned hotspot {spec['id']} overlaps another")

    candidates = {}
    for p in points:
        mx, my = mean_shift(points, p.x, p.y, CLUSTER_RADIUS_M)
        key = (round(mx), round(my))  # modes closer than ~1 m are the same
        if key not in candidates:
            cluster = within(points, mx, my, CLUSTER_RADIUS_M)
            candidates[key] = (sum(q.harm for q in cluster), (mx, my), cluster)
    ranked = sorted(candidates.items(), key=lambda kv: (-kv[1][0], kv[0]))
    for _, (score, centre, cluster) in ranked:
        if len(hotspots) >= HOTSPOT_COUNT:
            break
        try_accept(None, cluster, centre, False, score)
    if len(hotspots) < HOTSPOT_COUNT:
        raise SystemExit("not enough separated hotspot candidates")
    return hotspots


def hotspot_name(h, points):
    """Most common real street among the hotspot's records (fallback: nearby)."""
    _, _, _, top, _ = cluster_profile(h["cluster"])
    if top is not None:
        return top, "most common street among its records"
    cx, cy = h["centre"]
    _, _, _, top, _ = cluster_profile(within(points, cx, cy, NAME_FALLBACK_RADIUS_M))
    if top is None:
        raise SystemExit("no street name near a hotspot")
    return top, (f"its records carry only place-type labels; most common street "
                 f"within {NAME_FALLBACK_RADIUS_M:.0f} m of its centre")


def place_hole(h, points):
    """Centre of a hole ring: nearest grid point to the centroid that keeps the
    hole HOLE_CLEARANCE_M inside the exterior and contains no snap point."""
    ring = h["rings"][0]
    r = h["spec"]["hole_radius_m"]
    cx, cy = ring_centroid(ring)
    steps = int(HOLE_SEARCH_RADIUS_M / HOLE_SEARCH_STEP_M)
    cands = []
    for i in range(-steps, steps + 1):
        for j in range(-steps, steps + 1):
            x, y = cx + i * HOLE_SEARCH_STEP_M, cy + j * HOLE_SEARCH_STEP_M
            cands.append((math.hypot(x - cx, y - cy), i, j, x, y))
    cands.sort()
    for _, _, _, x, y in cands:
        if not point_in_ring((x, y), ring):
            continue
        if dist_point_ring((x, y), ring) < r + HOLE_CLEARANCE_M:
            continue
        if any(math.hypot(p.x - x, p.y - y) <= r + 1.0 for p in points):
            continue
        hole = regular_polygon(x, y, r, 12)
        hole.reverse()  # holes clockwise
        return hole
    raise SystemExit(f"no room for a hole in {h['spec']['id']}")


def hotspot_windows(h):
    types, streets, months, _, _ = cluster_profile(h["cluster"])
    n = sum(types.values())
    nightlife = streets.get("Nightclub", 0) / n
    retail = sum(types.get(t, 0) for t in RETAIL_TYPES) / n
    if nightlife >= NIGHTLIFE_SHARE:
        return [dict(w) for w in WINDOWS_NIGHTLIFE], \
            f"night-time economy ({nightlife:.0%} of records at Nightclub snap points)"
    if retail >= RETAIL_SHARE:
        return [dict(w) for w in WINDOWS_RETAIL], \
            f"retail ({retail:.0%} shoplifting/other-theft/theft-from-the-person)"
    return [dict(w) for w in WINDOWS_EVENING], "evening (no night-time or retail profile)"


def summer_uplift(h):
    _, _, months, _, _ = cluster_profile(h["cluster"])
    total = sum(months.values())
    summer = sum(v for m, v in months.items() if m[5:7] in SUMMER_MONTHS)
    return (summer / total) / (len(SUMMER_MONTHS) / DATA_MONTHS)


def build_hotspot_features(crime_path):
    points, proj, n_records, unknown = load_crime(crime_path)
    if unknown:
        print(f"warning: crime types without a harm weight (weight {DEFAULT_HARM_WEIGHT}): "
              f"{dict(unknown)}", file=sys.stderr)
    hotspots = derive_hotspots(points, proj)
    # seasonal window goes to the non-pinned hotspot with the largest summer uplift
    free = [h for h in hotspots if not h["pinned"]]
    summer_h = max(free, key=lambda h: (summer_uplift(h), -hotspots.index(h)))
    used_names = set()
    out = []
    for h in hotspots:
        types, streets, months, _, generic = cluster_profile(h["cluster"])
        n = sum(types.values())
        harm = sum(p.harm for p in h["cluster"])
        top_types = ", ".join(f"{t} {c / n:.0%}" for t, c in types.most_common(3))
        if h["pinned"]:
            spec = h["spec"]
            hid, name = spec["id"], spec["name"]
            windows = [dict(w) for w in spec["windows"]]
            why = spec["why"]
            naming = "name from the source paper"
        else:
            street, naming = hotspot_name(h, points)
            name = street
            k = 2
            while name in used_names:
                name = f"{street} ({k})"
                k += 1
            hid = "bham-" + slugify(name)
            windows, why = hotspot_windows(h)
            why = "window rule: " + why
        if h is summer_h:
            windows.append(dict(WINDOW_SUMMER))
            why += (f"; seasonal summer window: largest June-September harm uplift "
                    f"({summer_uplift(h):.2f}x the even-spread share)")
        used_names.add(name)
        rings = list(h["rings"])
        if h["pinned"] and h["spec"].get("hole_radius_m"):
            rings.append(place_hole(h, points))
        n_pts = len(h["cluster"])
        source = (
            "Derived by sim/data/derive_areas.py from data.police.uk street-level crime, "
            "Birmingham city centre Jan-Nov 2017 (fixtures crime/birmingham-city-centre-2017.csv): "
            f"{n} records ({harm} harm points) at {n_pts} snap points; "
            + ("pinned at the New Street station ramp, snap points within "
               f"{h['spec']['radius_m']:.0f} m plus the Stephenson Street snap point"
               if h["pinned"] else
               f"harm-density mode (radius {CLUSTER_RADIUS_M:.0f} m, mean shift)")
            + f"; polygon = convex hull of the snap points buffered {HOTSPOT_BUFFER_M:.0f} m"
            + ("; interior ring: synthetic ~20 m station-building footprint (not surveyed)"
               if len(rings) > 1 else "")
            + f"; top types: {top_types}; name: {naming}; {why}. "
            "Contains public sector information licensed under the Open Government Licence v3.0."
        )
        props = {"id": hid, "name": name, "lpa": "Birmingham", "windows": windows,
                 "source": source}
        out.append({"props": props, "rings_xy": rings, "proj": proj,
                    "info": {"records": n, "harm": harm, "snap_points": n_pts,
                             "top_types": top_types}})
    return out, proj, n_records, len(points)


def build_nowhere_feature(wards):
    spec = NOWHERE
    proj = LocalProjection(spec["lat"], spec["lon"])
    ring = regular_polygon(0.0, 0.0, spec["radius_m"], spec["sides"])
    ward = ward_of(spec["lat"], spec["lon"], wards)
    if ward is None:
        raise SystemExit("demo-nowhere is not inside Birmingham")
    props = {"id": spec["id"], "name": f"{spec['name']} ({ward} ward)", "lpa": "Birmingham",
             "windows": [dict(w) for w in spec["windows"]],
             "source": (f"Hand-placed by sim/data/derive_areas.py: regular {spec['sides']}-gon of "
                        f"radius {spec['radius_m']:.0f} m at {spec['lat']},{spec['lon']} "
                        f"({ward} ward, Birmingham); verified to be at least "
                        f"{NOWHERE_MIN_DISTANCE_M:.0f} m from every hotspot and every track fix, "
                        "so no demo track ever arrives (the 'never arrives' case).")}
    return {"props": props, "rings_xy": [ring], "proj": proj, "info": {}}


# ---------------------------------------------------------------------------
# Part 2: GPS tracks
# ---------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?\s*$")


def parse_time(text):
    """ISO 8601 GPX time -> POSIX seconds (float), or None.

    Handles any number of fractional digits (Mojstrovka has 7), 'Z' or a
    numeric offset (no offset = UTC, as GPX requires).
    """
    if not text:
        return None
    m = _TIME_RE.match(text)
    if not m:
        return None
    y, mo, d, hh, mi, ss = (int(g) for g in m.groups()[:6])
    frac = float(m.group(7)) if m.group(7) else 0.0
    tz = m.group(8)
    off = 0
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        off = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    base = dt.datetime(y, mo, d, hh, mi, ss, tzinfo=dt.timezone.utc)
    return base.timestamp() - off + frac


def local_name(tag):
    return tag.rsplit("}", 1)[-1]


Fix = collections.namedtuple("Fix", "lat lon t seg")


def load_gpx(path):
    """All <trkpt> of all <trk>/<trkseg> in document order, GPX 1.0 or 1.1."""
    root = ET.parse(path).getroot()
    fixes = []
    seg_no = 0
    for trk in root.iter():
        if local_name(trk.tag) != "trk":
            continue
        for seg in trk:
            if local_name(seg.tag) != "trkseg":
                continue
            for pt in seg:
                if local_name(pt.tag) != "trkpt":
                    continue
                t = None
                for child in pt:
                    if local_name(child.tag) == "time":
                        t = parse_time(child.text)
                fixes.append(Fix(float(pt.get("lat")), float(pt.get("lon")), t, seg_no))
            seg_no += 1
    return fixes


def fmt_time(t):
    if t is None:
        return "-"
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def track_facts(fixes, xy):
    """Observations about a track for the report."""
    n = len(fixes)
    times = [f.t for f in fixes]
    timed = [t for t in times if t is not None]
    steps = [math.dist(xy[i], xy[i + 1]) for i in range(n - 1)]
    facts = {"n": n, "segments": len({f.seg for f in fixes}),
             "timed": len(timed), "length_m": sum(steps)}
    untimed = []  # [first, last] runs of fixes without <time>
    for i, t in enumerate(times):
        if t is None:
            if untimed and untimed[-1][1] == i - 1:
                untimed[-1][1] = i
            else:
                untimed.append([i, i])
    facts["untimed_runs"] = untimed
    if timed:
        facts["first_time"] = fmt_time(min(timed))
        facts["last_time"] = fmt_time(max(timed))
        facts["duration_min"] = (max(timed) - min(timed)) / 60
        facts["distinct_times"] = len(set(timed))
        facts["duplicate_times"] = len(timed) - len(set(timed))
        facts["clock_broken"] = dt.datetime.fromtimestamp(min(timed), dt.timezone.utc).year \
            < TRACK_CLOCK_MIN_YEAR
        gaps = []
        for i in range(n - 1):
            if times[i] is not None and times[i + 1] is not None and times[i + 1] - times[i] > 300:
                gaps.append((i, times[i + 1] - times[i]))
        facts["gaps_over_5min"] = gaps
    jumps = []
    for i, d in enumerate(steps):
        if d > TRACK_JUMP_M:
            dtt = None
            if times[i] is not None and times[i + 1] is not None:
                dtt = times[i + 1] - times[i]
            jumps.append({"after_fix": i, "metres": d, "seconds": dtt,
                          "from": (fixes[i].lat, fixes[i].lon),
                          "to": (fixes[i + 1].lat, fixes[i + 1].lon),
                          "time": fmt_time(times[i]), "same_segment": fixes[i].seg == fixes[i + 1].seg})
    facts["jumps"] = jumps
    facts["max_step_m"] = max(steps) if steps else 0.0
    return facts


class TrackGeometry:
    """A track in local metres with the helpers the area search needs."""

    def __init__(self, fixes):
        self.fixes = fixes
        self.n = len(fixes)
        lat0 = sum(f.lat for f in fixes) / self.n
        lon0 = sum(f.lon for f in fixes) / self.n
        self.proj = LocalProjection(lat0, lon0)
        self.xy = [self.proj.to_xy(f.lat, f.lon) for f in fixes]
        self.cum = [0.0]
        for i in range(self.n - 1):
            self.cum.append(self.cum[-1] + math.dist(self.xy[i], self.xy[i + 1]))
        self.jump_prefix = [0]  # breaks (jumps or long time gaps) before fix k
        for i in range(self.n - 1):
            jumped = math.dist(self.xy[i], self.xy[i + 1]) > TRACK_JUMP_M
            t1, t2 = fixes[i].t, fixes[i + 1].t
            gap = t1 is not None and t2 is not None and t2 - t1 > TRACK_BREAK_GAP_S
            self.jump_prefix.append(self.jump_prefix[-1] + (1 if jumped or gap else 0))
        # hull-input thinning: keep a fix once it is TRACK_THIN_M from the last kept
        self.kept = [0]
        for i in range(1, self.n):
            if math.dist(self.xy[i], self.xy[self.kept[-1]]) >= TRACK_THIN_M:
                self.kept.append(i)
        self.max_inside = max(1, int(TRACK_MAX_INSIDE_FRACTION * self.n))

    def run_has_jump(self, a, b):
        return self.jump_prefix[b] - self.jump_prefix[a] > 0

    def run_ring(self, a, b):
        """Buffered hull of fixes a..b, already rounded as it will be written."""
        lo = bisect.bisect_left(self.kept, a)
        hi = bisect.bisect_right(self.kept, b)
        idx = set(self.kept[lo:hi]) | {a, b}
        ring = buffered_hull([self.xy[i] for i in sorted(idx)], TRACK_BUFFER_M)
        return geojson_rings_to_xy(rings_xy_to_geojson([ring], self.proj), self.proj)[0]

    def classify(self, rings, known_inside=None):
        """Check the enter-once property for a polygon (open xy rings).

        Returns (s, e) - the inside stretch - or None if the track is not
        outside-inside-outside with the required clearances.  `known_inside`
        (a, b) is a run already known to be inside (skips testing it).
        """
        n = self.n
        ring = rings[0]
        xs = [p[0] for p in ring]
        ys = [p[1] for p in ring]
        margin = max(TRACK_FAR_CLEARANCE_M, TRACK_END_CLEARANCE_M)
        x0, x1, y0, y1 = min(xs) - margin, max(xs) + margin, min(ys) - margin, max(ys) + margin

        def near_box(p):
            return x0 <= p[0] <= x1 and y0 <= p[1] <= y1

        def inside(k):
            p = self.xy[k]
            return near_box(p) and point_in_polygon(p, rings)

        def clearance_ok(k, need):
            p = self.xy[k]
            if not near_box(p):
                return True
            return dist_point_boundary(p, rings) >= need

        if known_inside is None:
            ins = [k for k in range(n) if inside(k)]
            if not ins:
                return None
            a = b = ins[0]
        else:
            a, b = known_inside
        s = a
        while s - 1 >= 0 and inside(s - 1):
            s -= 1
        e = b
        while e + 1 < n and inside(e + 1):
            e += 1
        if s == 0 or e == n - 1 or e - s + 1 > self.max_inside:
            return None
        if self.run_has_jump(s, e):  # the inside stretch must be one outing
            return None
        for k in list(range(s - 1, -1, -1)) + list(range(e + 1, n)):
            if k < s:
                along = self.cum[s] - self.cum[k]
            else:
                along = self.cum[k] - self.cum[e]
            if inside(k):
                return None
            need = 0.0
            if along > TRACK_FAR_ALONG_M:
                need = TRACK_FAR_CLEARANCE_M
            if k == 0 or k == n - 1:
                need = max(need, TRACK_END_CLEARANCE_M)
            if need and not clearance_ok(k, need):
                return None
        return (s, e)

    def evaluate(self, a, b):
        if self.run_has_jump(a, b):
            return None
        ring = self.run_ring(a, b)
        se = self.classify([ring], known_inside=(a, b))
        if se is None:
            return None
        return (se[1] - se[0] + 1, se, (a, b), ring)


def search_track_area(g: TrackGeometry):
    """Longest run whose buffered hull the track enters exactly once."""
    n = g.n
    best = None
    tried = set()
    for f in TRACK_SEARCH_FRACTIONS:
        L = max(1, round(f * n))
        if L in tried:
            continue
        tried.add(L)
        span = n - 1 - L  # starts a = 1 .. n-1-L (so b = a+L-1 <= n-2)
        if span < 1:
            continue
        step = max(1, span // TRACK_SEARCH_STARTS)
        for a in range(1, n - L, step):
            r = g.evaluate(a, a + L - 1)
            if r and (best is None or r[0] > best[0]):
                best = r
        if best:
            break
    if best is None:
        raise SystemExit("no valid track area found")
    # refine: grow the run one side at a time while it stays valid
    step = max(1, n // 50)
    while step >= 1:
        improved = True
        while improved:
            improved = False
            a, b = best[2]
            for na, nb in ((a - step, b), (a, b + step)):
                if na < 1 or nb > n - 2:
                    continue
                r = g.evaluate(na, nb)
                if r and r[0] > best[0]:
                    best = r
                    improved = True
                    break
        step //= 2
    return best


def minutes_between(fixes, s, e):
    ts = [f.t for f in fixes[s:e + 1] if f.t is not None]
    if not ts:
        return None
    return (max(ts) - min(ts)) / 60


def build_track_features(track_dir):
    out = []
    for tid, fname, label in TRACKS:
        path = os.path.join(track_dir, fname)
        fixes = load_gpx(path)
        g = TrackGeometry(fixes)
        facts = track_facts(fixes, g.xy)
        count, (s, e), (a, b), ring = search_track_area(g)
        mins = minutes_between(fixes, s, e)
        if facts.get("clock_broken"):
            minutes_note = "n/a (clock broken: timestamps in " + facts["first_time"][:4] + ")"
            mins = None
        elif mins is None:
            minutes_note = "n/a (no <time> on the inside fixes)"
        else:
            minutes_note = f"{mins:.1f}"
        t_in, t_out = fixes[s].t, fixes[e].t
        source = (
            f"Derived by sim/data/derive_areas.py from the GPS track tracks/{fname} "
            f"({label}, {g.n} fixes): convex hull of fixes {a}..{b} (0-based) buffered "
            f"{TRACK_BUFFER_M:.0f} m; the track starts outside, is inside for fixes {s}..{e} "
            f"({count}/{g.n}), then leaves and ends outside"
            + (f"; inside from {fmt_time(t_in)} to {fmt_time(t_out)}"
               if t_in is not None and t_out is not None and not facts.get("clock_broken") else "")
            + ". Track licence: see fixtures SOURCES.md."
        )
        props = {"id": tid, "name": f"{label} (track area)", "lpa": "Demo", "source": source}
        out.append({"props": props, "rings_xy": [ring], "proj": g.proj,
                    "info": {"file": fname, "inside": count, "n": g.n, "s": s, "e": e,
                             "run": (a, b), "minutes": mins, "minutes_note": minutes_note,
                             "facts": facts},
                    "track": g})
    return out


# ---------------------------------------------------------------------------
# Validation of the written file
# ---------------------------------------------------------------------------

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_MMDD = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


def validate(fc, built, ward_rings):
    errors = []

    def err(fid, msg):
        errors.append(f"{fid}: {msg}")

    if fc.get("type") != "FeatureCollection":
        errors.append("not a FeatureCollection")
    ids = [f["properties"]["id"] for f in fc["features"]]
    if len(ids) != len(set(ids)):
        errors.append("duplicate ids")
    by_id = {b["props"]["id"]: b for b in built}
    xy_rings = {}
    for f in fc["features"]:
        p = f["properties"]
        fid = p.get("id")
        if not isinstance(fid, str) or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", fid):
            err(fid, "id is not a lowercase slug")
        for key in ("name", "lpa", "source"):
            if not isinstance(p.get(key), str) or not p[key]:
                err(fid, f"missing {key}")
        for w in p.get("windows", []):
            if not w["days"] or any(d not in ALL_DAYS for d in w["days"]):
                err(fid, f"bad days {w['days']}")
            if not (_HHMM.match(w["start"]) and _HHMM.match(w["end"])) or w["start"] == w["end"]:
                err(fid, f"bad window times {w}")
            for k in ("from", "to"):
                if k in w and not _MMDD.match(w[k]):
                    err(fid, f"bad {k} {w[k]}")
        geom = f["geometry"]
        if geom["type"] != "Polygon":
            err(fid, "not a Polygon")
            continue
        proj = by_id[fid]["proj"]
        for k, ring in enumerate(geom["coordinates"]):
            if len(ring) < 4:
                err(fid, f"ring {k} has < 4 positions")
            if ring[0] != ring[-1]:
                err(fid, f"ring {k} not closed")
            for lon, lat in ring:
                if not (math.isfinite(lon) and math.isfinite(lat)) or abs(lon) > 180 or abs(lat) > 90:
                    err(fid, f"ring {k} bad coordinate {lon},{lat}")
                if round(lon, COORD_DECIMALS) != lon or round(lat, COORD_DECIMALS) != lat:
                    err(fid, f"ring {k} not rounded")
            for i in range(len(ring) - 1):
                if ring[i] == ring[i + 1]:
                    err(fid, f"ring {k} repeated vertex {i}")
            # orientation in lon/lat itself (what importers see)
            a_ll = ring_area([tuple(c) for c in ring[:-1]])
            if k == 0 and not a_ll > 0:
                err(fid, "exterior ring not counter-clockwise")
            if k > 0 and not a_ll < 0:
                err(fid, f"hole {k} not clockwise")
        rings = geojson_rings_to_xy(geom["coordinates"], proj)
        xy_rings[fid] = rings
        for k, r in enumerate(rings):
            if not ring_is_simple(r):
                err(fid, f"ring {k} self-intersects")
            if abs(ring_area(r)) <= 0:
                err(fid, f"ring {k} has zero area")
        for k, hole in enumerate(rings[1:], 1):
            if rings_touch(hole, rings[0]) or not all(point_in_ring(v, rings[0]) for v in hole):
                err(fid, f"hole {k} not strictly inside the exterior")
            for k2 in range(k + 1, len(rings)):
                if polygon_distance(hole, rings[k2]) == 0:
                    err(fid, f"holes {k} and {k2} meet")
        if abs(ring_area(rings[0])) - sum(abs(ring_area(h)) for h in rings[1:]) <= 0:
            err(fid, "polygon area not positive")
    # Birmingham hotspots: pairwise separation; demo-nowhere far from everything
    bham = [b for b in built if b["props"]["id"].startswith("bham-")]
    common = bham[0]["proj"] if bham else None
    def in_common(fid):
        b = by_id[fid]
        f = next(f for f in fc["features"] if f["properties"]["id"] == fid)
        return geojson_rings_to_xy(f["geometry"]["coordinates"], common)
    for i in range(len(bham)):
        for j in range(i + 1, len(bham)):
            a_id, b_id = bham[i]["props"]["id"], bham[j]["props"]["id"]
            d = polygon_distance(in_common(a_id)[0], in_common(b_id)[0])
            if d < HOTSPOT_GAP_M - 1.0:  # 1 m slack for coordinate rounding
                err(a_id, f"only {d:.1f} m from {b_id}")
    nowhere = NOWHERE["id"]
    if nowhere in by_id and common is not None:
        for b in bham:
            d = polygon_distance(in_common(nowhere)[0], in_common(b["props"]["id"])[0])
            if d < NOWHERE_MIN_DISTANCE_M:
                err(nowhere, f"only {d:.0f} m from {b['props']['id']}")
        nf = next(f for f in fc["features"] if f["properties"]["id"] == nowhere)
        nlon, nlat = nf["geometry"]["coordinates"][0][0]
        for b in built:
            g = b.get("track")
            if g is None:
                continue
            dmin = min(haversine(nlat, nlon, fx.lat, fx.lon) for fx in g.fixes)
            if dmin < NOWHERE_MIN_DISTANCE_M:
                err(nowhere, f"a fix of {b['info']['file']} is {dmin:.0f} m away")
    # Birmingham areas lie in Birmingham (centroid in a ward of E08000025)
    for b in built:
        fid = b["props"]["id"]
        if b["props"]["lpa"] != "Birmingham":
            continue
        clat, clon = b["proj"].to_ll(*ring_centroid(xy_rings[fid][0]))
        ward = ward_of(clat, clon, ward_rings)
        b["info"]["ward"] = ward
        if ward is None:
            err(fid, "centroid is not in any Birmingham ward")
    # track areas: the enter-once property holds on the rounded polygon
    for b in built:
        g = b.get("track")
        if g is None:
            continue
        fid = b["props"]["id"]
        se = g.classify(xy_rings[fid])
        if se is None:
            err(fid, "track is not outside-inside-outside on the written polygon")
        elif se != (b["info"]["s"], b["info"]["e"]):
            err(fid, f"inside stretch changed after rounding: {se}")
    return errors


def haversine(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = math.sin((p2 - p1) / 2) ** 2 + \
        math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def load_wards(path):
    """[(name, [rings as [lon, lat] lists])] for a ward GeoJSON file."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    wards = []
    for f in data["features"]:
        geom = f["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        wards.append((f["properties"]["WD13NM"], polys))
    return wards


def ward_of(lat, lon, wards):
    for name, polys in wards:
        for poly in polys:
            rings = [[(c[0], c[1]) for c in r] for r in poly]
            if point_in_polygon((lon, lat), rings):
                return name
    return None


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def fmt_windows(ws):
    if not ws:
        return "-"
    parts = []
    for w in ws:
        days = w["days"]
        d = "daily" if days == ALL_DAYS else "/".join(days)
        s = f"{d} {w['start']}-{w['end']}"
        if "from" in w:
            s += f" [{w['from']}..{w['to']}]"
        parts.append(s)
    return "; ".join(parts)


def main(argv=None):
    here = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=os.path.join(repo_root, "..", "shared", "fixtures"),
                    help="fixtures directory (default: ../shared/fixtures from the repo root)")
    ap.add_argument("--out", default=os.path.join(here, "demo-areas.geojson"),
                    help="output GeoJSON (default: sim/data/demo-areas.geojson)")
    args = ap.parse_args(argv)
    fx = os.path.normpath(args.fixtures)
    for sub in ("crime", "tracks", "boundaries"):
        if not os.path.isdir(os.path.join(fx, sub)):
            ap.error(f"fixtures directory {fx!r} has no {sub}/ (use --fixtures DIR)")

    hotspots, bham_proj, n_records, n_points = build_hotspot_features(
        os.path.join(fx, "crime", "birmingham-city-centre-2017.csv"))
    wards = load_wards(os.path.join(fx, "boundaries", "wards_E08000025.json"))
    nowhere = build_nowhere_feature(wards)
    tracks = build_track_features(os.path.join(fx, "tracks"))
    built = hotspots + [nowhere] + tracks

    features = []
    for b in built:
        features.append(feature(b["props"], rings_xy_to_geojson(b["rings_xy"], b["proj"])))
    fc = {"type": "FeatureCollection", "features": features}
    # one feature per line: small diffs, still plain JSON
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(
        json.dumps(f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        for f in features) + "\n]}\n"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)

    # re-read what was written and validate it
    with open(args.out, encoding="utf-8") as fh:
        written = json.load(fh)
    errors = validate(written, built, wards)

    # summary
    print(f"crime: {n_records} records at {n_points} snap points -> {len(hotspots)} hotspots")
    print(f"wrote {os.path.relpath(args.out)} ({len(features)} areas)\n")
    hdr = f"{'id':<26} {'verts':>6} {'area m2':>9}  details"
    print(hdr)
    print("-" * 110)
    for b, f in zip(built, written["features"]):
        rings = geojson_rings_to_xy(f["geometry"]["coordinates"], b["proj"])
        verts = "+".join(str(len(r)) for r in rings)
        area = abs(ring_area(rings[0])) - sum(abs(ring_area(h)) for h in rings[1:])
        info = b["info"]
        if "file" in info:
            det = (f"{info['file']}: inside {info['inside']}/{info['n']} "
                   f"(fixes {info['s']}..{info['e']}), minutes inside {info['minutes_note']}")
        elif "records" in info:
            det = (f"{b['props']['name']} [{info.get('ward', '?')}]: {info['records']} records, "
                   f"harm {info['harm']}; {fmt_windows(b['props'].get('windows'))}")
        else:
            det = f"{b['props']['name']} [{info.get('ward', '?')}]; " \
                  f"{fmt_windows(b['props'].get('windows'))}"
        print(f"{b['props']['id']:<26} {verts:>6} {area:>9.0f}  {det}")

    print("\ntrack notes:")
    for b in tracks:
        fa = b["info"]["facts"]
        line = (f"  {b['info']['file']}: {fa['n']} fixes in {fa['segments']} segment(s), "
                f"{fa['length_m'] / 1000:.2f} km, {fa['timed']} timed")
        if fa["timed"]:
            line += (f", {fa['first_time']} .. {fa['last_time']} ({fa['duration_min']:.1f} min), "
                     f"{fa['duplicate_times']} duplicate times")
            if fa["gaps_over_5min"]:
                line += ", gaps > 5 min: " + ", ".join(
                    f"after fix {i} ({sec / 60:.1f} min)" for i, sec in fa["gaps_over_5min"])
        if fa["untimed_runs"]:
            line += ", no <time> on fixes " + ", ".join(f"{a}..{b}" for a, b in fa["untimed_runs"])
        if fa["jumps"]:
            line += ", jumps > %d m: " % TRACK_JUMP_M + ", ".join(
                f"after fix {j['after_fix']} {j['metres']:.0f} m"
                + (f" in {j['seconds']:.1f} s" if j["seconds"] is not None else "")
                + (f" at {j['time']}" if j["seconds"] is not None else "")
                + ("" if j["same_segment"] else " (between segments)")
                for j in fa["jumps"])
        info = b["info"]
        fx = b["track"].fixes
        line += (f"; area: run {info['run'][0]}..{info['run'][1]}, inside {info['s']}..{info['e']}"
                 f" ({fmt_time(fx[info['s']].t)} .. {fmt_time(fx[info['e']].t)})")
        print(line)

    for tid in ("trk-freiburg", "trk-cerknica"):
        b = next(t for t in tracks if t["props"]["id"] == tid)
        print(f"{tid}: the track spends {b['info']['minutes_note']} minutes inside")

    if errors:
        print("\nVALIDATION FAILED:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print("\nvalidation: OK (closed rings, CCW exteriors / CW holes, finite coordinates, simple "
          "rings, holes inside, positive areas, hotspots >= %.0f m apart, tracks enter once)"
          % HOTSPOT_GAP_M)
    return 0


if __name__ == "__main__":
    sys.exit(main())
