#!/usr/bin/env python3
"""Derive the Guardian demo track in Birmingham (``sim/data/demo-track-birmingham.gpx``).

The demo needs a foot patrol that walks a real Birmingham hotspot ("TGP").
No fixture is a walk in Birmingham, so this script takes the real recorded
walk ``tracks/mtk_logger.gpx`` (Gothenburg, 2008; see SOURCES.md) and moves
it there by ONE rigid motion: a rotation by ``theta`` about a pivot plus a
translation.  Every step length, every turn, every GPS wobble and every
timestamp stay the recorded ones; the logger's faults (a stale cold-start
position repeated for ten fixes, two ~2 km jumps in one second) are kept too,
because the core's fix filter is supposed to reject them.

Projection: each source point is put into a local tangent plane (east/north
metres, equirectangular) around the pivot with the SOURCE latitude's scale,
rotated clockwise by ``theta`` (every compass heading grows by ``theta``),
placed at the target and unprojected with the TARGET latitude's scale.  The
script measures the resulting step-length distortion on the written file.

Search (deterministic): for each of the seven ``bham-*`` hotspots of
``demo-areas.geojson``, every integer ``theta`` in 0..359 and every run of
fixes that can start the visit, an exact 2-D feasibility test (which
translations put the whole run inside the convex hotspot) finds the longest
run that fits; translations are then taken on a ``GRID_M`` grid inside that
feasible set and the whole track is classified against every demo area, the
ward boundaries and the constraints below.  The best transform maximises the
minutes of the first visit, then the total minutes inside, then fewer
entries, then points inside the seven authorities, then the clearance of the
visit from the hotspot edge.  Branch and bound on a diameter bound keeps the
run to about 12 s.

Constraints (re-checked on the written file; the script exits 1 if one fails):
  - the first entry into ANY demo area is the chosen hotspot; the stale and
    jump fixes and the first minute of the walk are >= START_CLEARANCE_M
    outside it; the visit ends and the track leaves again;
  - arrival (the core's dwell: ENTER_DWELL_S and 2 fixes) is confirmed before
    fix int(0.3 * fixes): the demo loses signal there and files a referral at
    the next believed fix, which must be on patrol;
  - every fix of the believable walk lies in a Birmingham ward;
  - every fix is >= NOWHERE_MIN_DISTANCE_M from ``demo-nowhere``;
  - worst step-length distortion < MAX_STEP_DISTORTION.

Usage (from the repository root)::

    python3 sim/data/derive_demo_track.py [--fixtures DIR] [--areas FILE] [--out FILE]

Python 3.11, standard library only; no randomness, no clock in the output.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from derive_areas import (  # noqa: E402  (same directory, shared geometry)
    EARTH_RADIUS_M, LocalProjection, convex_hull, dist_point_boundary, fmt_time, haversine,
    local_name, parse_time, point_in_polygon,
)

# ---------------------------------------------------------------------------
# Parameters (documented in sim/data/README.md, Part 3)
# ---------------------------------------------------------------------------

SOURCE_TRACK = "mtk_logger.gpx"
SOURCE_LABEL = "MTK walk (Gothenburg 2008)"
SOURCE_ORIGIN = ("GPSBabel test corpus, GPL-2.0 repository; "
                 "fixture tracks/mtk_logger.gpx, see shared/fixtures/SOURCES.md")
COORD_DECIMALS = 7  # written lat/lon (~1 cm)
PIVOT_DECIMALS = 6  # pivot = mean of the believable walk, rounded
# Search frame in Birmingham: the New Street station anchor of derive_areas.py.
SEARCH_ORIGIN = (52.4785, -1.8985)
GRID_M = 2.0  # translation grid (metres, in the search frame)
EVAL_PER_RUN = 12  # grid translations evaluated per (hotspot, theta, run), deepest first
JUMP_M = 500.0  # a step longer than this is a position jump
MAX_GAP_S = 120.0  # a gap longer than this breaks a stretch (the core's max_gap)
START_CLEARANCE_M = 50.0  # stale/jump fixes and the walk's first minute: this far outside
START_CLEARANCE_S = 60.0  # ... "first minute" of the believable walk
SIGNAL_LOST_AT = 0.3  # sim/src/demo.rs: signal lost at fix int(0.3 * fixes)
ENTER_DWELL_S = 15.0  # core TrackerPolicy: enter dwell 15 s and 2 fixes
ENTER_MIN_FIXES = 2
EXIT_DWELL_S = 30.0  # ... exit dwell 30 s and 2 fixes, each > EXIT_MARGIN_M outside
EXIT_MIN_FIXES = 2
EXIT_MARGIN_M = 15.0
NOWHERE_ID = "demo-nowhere"
NOWHERE_MIN_DISTANCE_M = 1000.0
MAX_STEP_DISTORTION = 0.005  # 0.5 %
DISTORTION_MIN_STEP_M = 10.0  # relative distortion on steps at least this long
# (shorter steps are dominated by the 1e-7 degree rounding, reported in metres)

AUTHORITIES = [  # ward file ONS code -> authority
    ("E08000025", "Birmingham"), ("E08000026", "Coventry"), ("E08000027", "Dudley"),
    ("E08000028", "Sandwell"), ("E08000029", "Solihull"), ("E08000030", "Walsall"),
    ("E08000031", "Wolverhampton"),
]
GPX11_NS = "http://www.topografix.com/GPX/1/1"
# GPX 1.1 wptType children (in schema order) that are copied verbatim; the
# source's GPX 1.0 <course> and <speed> have no GPX 1.1 element and are dropped.
WPT_CHILDREN = ["ele", "time", "magvar", "geoidheight", "name", "cmt", "desc", "src",
                "sym", "type", "fix", "sat", "hdop", "vdop", "pdop", "ageofdgpsdata", "dgpsid"]

DEG = math.radians(1.0) * EARTH_RADIUS_M  # metres per degree of latitude


# ---------------------------------------------------------------------------
# Reading the source GPX
# ---------------------------------------------------------------------------

class Point:
    __slots__ = ("lat", "lon", "t", "children", "dropped", "seg")

    def __init__(self, lat, lon, t, children, dropped, seg):
        self.lat, self.lon, self.t = lat, lon, t
        self.children, self.dropped, self.seg = children, dropped, seg


def read_point(el, seg):
    children, dropped = [], []
    for c in el:
        tag = local_name(c.tag)
        if tag in WPT_CHILDREN and len(c) == 0:
            children.append((tag, c.text or ""))
        else:
            dropped.append(tag)
    t = parse_time(dict(children).get("time"))
    return Point(float(el.get("lat")), float(el.get("lon")), t, children, dropped, seg)


def load_source(path):
    """Tracks (one entry per <trkseg>) and waypoints of a GPX 1.0/1.1 file."""
    root = ET.parse(path).getroot()
    segments, waypoints = [], []
    seg_no = 0
    for el in root:
        tag = local_name(el.tag)
        if tag == "wpt":
            waypoints.append(read_point(el, None))
        elif tag == "trk":
            meta = {local_name(c.tag): (c.text or "") for c in el
                    if local_name(c.tag) in ("name", "desc") and len(c) == 0}
            for seg in el:
                if local_name(seg.tag) != "trkseg":
                    continue
                pts = [read_point(p, seg_no) for p in seg if local_name(p.tag) == "trkpt"]
                segments.append({"name": meta.get("name"), "desc": meta.get("desc"), "points": pts})
                seg_no += 1
    return root.get("version"), segments, waypoints


def classify_source(points, seg_lengths):
    """Indices of the believable walk and of the faults, from the data itself.

    The believable walk is the longest run of the longest segment with no
    step over JUMP_M; fixes before it in that segment that repeat the file's
    first position are stale, the rest are jump points.
    """
    proj = LocalProjection(points[0].lat, points[0].lon)
    xy = [proj.to_xy(p.lat, p.lon) for p in points]
    starts = [sum(seg_lengths[:k]) for k in range(len(seg_lengths))]
    main = max(range(len(seg_lengths)), key=lambda k: (seg_lengths[k], -k))
    a0, a1 = starts[main], starts[main] + seg_lengths[main] - 1
    best = (0, a0, a0)
    s = a0
    for i in range(a0 + 1, a1 + 2):
        if i > a1 or math.dist(xy[i - 1], xy[i]) > JUMP_M:
            if i - s > best[0]:
                best = (i - s, s, i - 1)
            s = i
    w0, w1 = best[1], best[2]
    first = (points[0].lat, points[0].lon)
    stale = [i for i in range(a0, w0) if (points[i].lat, points[i].lon) == first]
    jumps = [i for i in range(a0, w0) if i not in stale]
    return {"main_seg": main, "walk": (w0, w1), "stale": stale, "jumps": jumps,
            "other_segs": [k for k in range(len(seg_lengths)) if k != main], "starts": starts}


# ---------------------------------------------------------------------------
# Areas and boundaries
# ---------------------------------------------------------------------------

class Area:
    """A demo area in the search frame (open rings, exterior first)."""

    def __init__(self, props, coords, frame):
        self.id, self.name = props["id"], props["name"]
        self.rings = [[frame.to_xy(lat, lon) for lon, lat in r[:-1]] for r in coords]
        ext = self.rings[0]
        if ring_signed_area(ext) < 0:
            ext = ext[::-1]
        self.ext = ext
        xs = [x for x, _ in ext]
        ys = [y for _, y in ext]
        self.bbox = (min(xs), min(ys), max(xs), max(ys))
        # outward unit normals: n.x <= c inside the (convex) exterior
        self.planes = []
        n = len(ext)
        for k in range(n):
            (x1, y1), (x2, y2) = ext[k], ext[(k + 1) % n]
            dx, dy = x2 - x1, y2 - y1
            L = math.hypot(dx, dy)
            nx, ny = dy / L, -dx / L
            self.planes.append((nx, ny, nx * x1 + ny * y1))
        # convex up to the 1e-6 degree rounding of the written areas; if a vertex
        # is a hair reflex, the edge half-planes cut a hair more: conservative
        self.convex = all(cross3(ext[k], ext[(k + 1) % n], ext[(k + 2) % n]) >= -0.01
                          for k in range(n))
        self.diameter = max(math.dist(a, b) for a in ext for b in ext)
        self.widths = []  # width in direction k degrees, k = 0..179
        for k in range(180):
            c, s = math.cos(math.radians(k)), math.sin(math.radians(k))
            pr = [x * c + y * s for x, y in ext]
            self.widths.append(max(pr) - min(pr))

    def contains(self, p):
        x, y = p
        b = self.bbox
        if x < b[0] or x > b[2] or y < b[1] or y > b[3]:
            return False
        return point_in_polygon(p, self.rings)

    def boundary_m(self, p):
        return dist_point_boundary(p, self.rings)


def ring_signed_area(ring):
    s = 0.0
    n = len(ring)
    for i in range(n):
        x1, y1 = ring[i]
        x2, y2 = ring[(i + 1) % n]
        s += x1 * y2 - x2 * y1
    return s / 2


def cross3(o, a, b):
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def load_areas(path, frame):
    with open(path, encoding="utf-8") as fh:
        fc = json.load(fh)
    out = []
    for f in fc["features"]:
        if f["geometry"]["type"] != "Polygon":
            raise SystemExit(f"{f['properties']['id']}: only Polygon areas are supported")
        out.append(Area(f["properties"], f["geometry"]["coordinates"], frame))
    return out


class Wards:
    """One authority's ward polygons (lon/lat), with a fast row-banded parity index.

    ``contains`` is the core's rule exactly: the point is inside some ward
    (referral routing tests each ward polygon).  ``fast_contains`` counts ring
    crossings of all wards at once (odd = inside one ward), which is the same
    when wards do not overlap; the search uses it, the checks use ``contains``.
    """

    BAND = 0.001  # degrees of latitude per index band

    def __init__(self, path):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        self.polys = []  # (bbox, rings as [(lon, lat)])
        edges = []
        for f in data["features"]:
            g = f["geometry"]
            polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
            for poly in polys:
                rings = [[(c[0], c[1]) for c in r] for r in poly]
                if rings[0][0] == rings[0][-1]:
                    rings = [r[:-1] for r in rings]
                xs = [x for x, _ in rings[0]]
                ys = [y for _, y in rings[0]]
                self.polys.append(((min(xs), min(ys), max(xs), max(ys)), rings, f["properties"]))
                for r in rings:
                    for k in range(len(r)):
                        a, b = r[k], r[(k + 1) % len(r)]
                        if a[1] != b[1]:
                            edges.append((a, b))
        self.lat0 = min(min(a[1], b[1]) for a, b in edges)
        self.bands = {}
        for a, b in edges:
            lo = int((min(a[1], b[1]) - self.lat0) / self.BAND)
            hi = int((max(a[1], b[1]) - self.lat0) / self.BAND)
            for k in range(lo, hi + 1):
                self.bands.setdefault(k, []).append((a[0], a[1], b[0], b[1]))
        self.bbox = (min(p[0][0] for p in self.polys), min(p[0][1] for p in self.polys),
                     max(p[0][2] for p in self.polys), max(p[0][3] for p in self.polys))

    def fast_contains(self, lat, lon):
        edges = self.bands.get(int((lat - self.lat0) / self.BAND))
        if not edges:
            return False
        inside = False
        for xi, yi, xj, yj in edges:
            if (yi > lat) != (yj > lat):
                if lon < xj + (lat - yj) * (xi - xj) / (yi - yj):
                    inside = not inside
        return inside

    def ward_of(self, lat, lon):
        for (x0, y0, x1, y1), rings, props in self.polys:
            if x0 <= lon <= x1 and y0 <= lat <= y1 and point_in_polygon((lon, lat), rings):
                return props.get("WD13NM", "?")
        return None

    def contains(self, lat, lon):
        return self.ward_of(lat, lon) is not None


def authority_of(lat, lon, authorities):
    for name, wards in authorities:
        ward = wards.ward_of(lat, lon)
        if ward is not None:
            return name, ward
    return None, None


# ---------------------------------------------------------------------------
# The rigid motion
# ---------------------------------------------------------------------------

class Motion:
    """Source lat/lon -> target lat/lon: local ENU at the pivot (source latitude's
    scale), clockwise rotation by theta degrees, ENU at the target (target
    latitude's scale)."""

    def __init__(self, pivot, theta_deg, target):
        self.pivot, self.theta, self.target = pivot, theta_deg, target
        self.kx_src = DEG * math.cos(math.radians(pivot[0]))
        self.kx_dst = DEG * math.cos(math.radians(target[0]))
        self.c = math.cos(math.radians(theta_deg))
        self.s = math.sin(math.radians(theta_deg))

    def enu(self, lat, lon):
        """Source point -> rotated east/north metres about the pivot."""
        e = (lon - self.pivot[1]) * self.kx_src
        n = (lat - self.pivot[0]) * DEG
        return (e * self.c + n * self.s, -e * self.s + n * self.c)

    def apply_exact(self, lat, lon):
        e, n = self.enu(lat, lon)
        return (self.target[0] + n / DEG, self.target[1] + e / self.kx_dst)

    def apply(self, lat, lon):
        lat2, lon2 = self.apply_exact(lat, lon)
        return (round(lat2, COORD_DECIMALS), round(lon2, COORD_DECIMALS))


def rotate_src(src_en, theta_deg):
    c, s = math.cos(math.radians(theta_deg)), math.sin(math.radians(theta_deg))
    return [(e * c + n * s, -e * s + n * c) for e, n in src_en]


# ---------------------------------------------------------------------------
# Feasible translations of a run of fixes inside a convex polygon
# ---------------------------------------------------------------------------

BIG = 1.0e6


def clip(poly, nx, ny, b):
    """Keep the part of convex polygon `poly` with nx*x + ny*y <= b."""
    out = []
    n = len(poly)
    for k in range(n):
        p, q = poly[k], poly[(k + 1) % n]
        dp = nx * p[0] + ny * p[1] - b
        dq = nx * q[0] + ny * q[1] - b
        if dp <= 0:
            out.append(p)
        if (dp < 0 < dq) or (dq < 0 < dp):
            f = dp / (dp - dq)
            out.append((p[0] + f * (q[0] - p[0]), p[1] + f * (q[1] - p[1])))
    return out


def feasible(points, area):
    """Translations t with p + t inside the (convex) exterior for every p; the
    constraint offsets b (for clearances).  None if empty."""
    poly = [(-BIG, -BIG), (BIG, -BIG), (BIG, BIG), (-BIG, BIG)]
    bs = []
    for nx, ny, c in area.planes:
        b = c - max(nx * x + ny * y for x, y in points)
        bs.append(b)
        poly = clip(poly, nx, ny, b)
        if len(poly) < 3:
            return None
    if abs(ring_signed_area(poly)) < 1e-9:
        return None
    return poly, bs


def grid_points(region, area, bs):
    """GRID_M grid points inside the feasible region, deepest first."""
    poly, _ = region
    xs = [x for x, _ in poly]
    ys = [y for _, y in poly]
    out = []
    for gx in range(math.ceil(min(xs) / GRID_M), math.floor(max(xs) / GRID_M) + 1):
        for gy in range(math.ceil(min(ys) / GRID_M), math.floor(max(ys) / GRID_M) + 1):
            x, y = gx * GRID_M, gy * GRID_M
            depth = min(b - (nx * x + ny * y) for (nx, ny, _), b in zip(area.planes, bs))
            if depth >= 0:
                out.append((-depth, gx, gy))
    out.sort()
    return [(gx, gy, -d) for d, gx, gy in out]


# ---------------------------------------------------------------------------
# Classifying a moved track
# ---------------------------------------------------------------------------

class Context:
    def __init__(self, points, info, areas, frame, bham, authorities):
        self.points, self.info, self.areas, self.frame = points, info, areas, frame
        self.bham, self.authorities = bham, authorities
        self.n = len(points)
        self.t = [p.t for p in points]
        self.cut = int(SIGNAL_LOST_AT * self.n)
        w0, w1 = info["walk"]
        self.w0, self.w1 = w0, w1
        # fixes that must stay START_CLEARANCE_M outside: everything before the
        # believable walk and the walk's first START_CLEARANCE_S
        self.start_fixes = [k for k in range(self.n)
                            if k < w0 or (w0 <= k <= w1 and self.t[k] <= self.t[w0] + START_CLEARANCE_S)]
        self.first_start = max(self.start_fixes) + 1
        self.nowhere = next(a for a in areas if a.id == NOWHERE_ID)
        nx0, ny0, nx1, ny1 = self.nowhere.bbox
        self.nowhere_c = ((nx0 + nx1) / 2, (ny0 + ny1) / 2)
        self.nowhere_r = math.hypot(nx1 - nx0, ny1 - ny0) / 2

    def breaks(self, k):
        """True if fixes k-1 and k cannot belong to one stretch."""
        p, q = self.points[k - 1], self.points[k]
        return p.seg != q.seg or q.t - p.t > MAX_GAP_S

    def stretches(self, inside):
        out = []
        s = None
        for k in range(self.n + 1):
            cont = k < self.n and inside[k] and s is not None and not self.breaks(k)
            if s is not None and not cont:
                out.append((s, k - 1))
                s = None
            if k < self.n and inside[k] and s is None:
                s = k
        return out

    def evaluate(self, hs, motion, full=False, latlon=None):
        """Classify the moved track (or `latlon`, the track as read back from the
        written file); None if a constraint fails (unless full)."""
        pts = latlon or [motion.apply(p.lat, p.lon) for p in self.points]
        xy = [self.frame.to_xy(lat, lon) for lat, lon in pts]
        inside = [hs.contains(p) for p in xy]
        st = self.stretches(inside)
        res = {"hotspot": hs, "motion": motion, "latlon": pts, "xy": xy, "inside": inside,
               "stretches": st, "fails": []}
        fail = res["fails"].append
        if not st:
            fail("never inside the hotspot")
            return res if full else None
        s, e = st[0]
        res["first"] = (s, e)
        # arrival as the core confirms it: ENTER_DWELL_S and ENTER_MIN_FIXES inside
        arr = next((k for k in range(s, e + 1)
                    if self.t[k] - self.t[s] >= ENTER_DWELL_S and k - s + 1 >= ENTER_MIN_FIXES), None)
        res["arrival_confirmed"] = arr
        if arr is None:
            fail("the first visit is too short for the core to confirm arrival")
        elif arr >= self.cut:
            fail(f"arrival confirmed at fix {arr}, not before fix {self.cut} (signal loss)")
        if s < self.first_start:
            fail(f"inside at fix {s}, before the walk's first minute is over")
        if not full and res["fails"]:
            return None
        # start fixes well outside
        d_start = min(hs.boundary_m(xy[k]) for k in self.start_fixes)
        res["start_clearance"] = d_start
        if d_start < START_CLEARANCE_M or any(inside[k] for k in self.start_fixes):
            fail(f"a start fix is only {d_start:.1f} m from the hotspot")
            if not full:
                return None
        # leaves again: EXIT_MIN_FIXES fixes over EXIT_DWELL_S, each > EXIT_MARGIN_M outside
        run0 = None
        left = None
        for k in range(e + 1, self.n):
            out = not inside[k] and hs.boundary_m(xy[k]) > EXIT_MARGIN_M
            if out and run0 is not None and not self.breaks(k):
                if self.t[k] - self.t[run0] >= EXIT_DWELL_S and k - run0 + 1 >= EXIT_MIN_FIXES:
                    left = run0
                    break
            elif out:
                run0 = k
            else:
                run0 = None
        res["left_at"] = left
        if left is None:
            fail("the track never leaves the hotspot after the first visit")
            if not full:
                return None
        # first entry into any demo area is this hotspot
        other = None
        for k in range(s):
            for a in self.areas:
                if a.contains(xy[k]):
                    other = (k, a.id)
                    break
            if other:
                break
        res["earlier_area"] = other
        if other is not None:
            fail(f"fix {other[0]} is inside {other[1]} before the hotspot")
            if not full:
                return None
        # every fix >= 1 km from demo-nowhere
        dmin = math.inf
        for p in xy:
            d = math.dist(p, self.nowhere_c) - self.nowhere_r
            if d < NOWHERE_MIN_DISTANCE_M:
                d = self.nowhere.boundary_m(p) if not self.nowhere.contains(p) else 0.0
            dmin = min(dmin, d)
        res["nowhere_m"] = dmin
        if dmin < NOWHERE_MIN_DISTANCE_M:
            fail(f"a fix is only {dmin:.0f} m from {NOWHERE_ID}")
            if not full:
                return None
        # the believable walk lies in Birmingham
        outside_bham = [k for k in range(self.w0, self.w1 + 1)
                        if not self.bham.fast_contains(*pts[k])]
        res["walk_outside_bham"] = outside_bham
        if outside_bham:
            fail(f"{len(outside_bham)} fixes of the walk are outside Birmingham")
            if not full:
                return None
        others = [k for k in range(self.n) if not (self.w0 <= k <= self.w1)]
        in_seven = sum(1 for k in others
                       if any(w.fast_contains(*pts[k]) for _, w in self.authorities))
        res["others_in_seven"] = in_seven
        # score
        first_ms = round((self.t[e] - self.t[s]) * 1000)
        total_ms = sum(round((self.t[b] - self.t[a]) * 1000) for a, b in st)
        clearance = min(hs.boundary_m(xy[k]) for k in range(s, e + 1))
        res["clearance"] = clearance
        res["key"] = (first_ms, total_ms, -len(st), in_seven, round(clearance, 1))
        return res


# ---------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------

def diameter_reach(src_en, lo, hi, w1, diam):
    """For each start i in [lo, hi]: the last j <= w1 with diam(fixes i..j) <= diam."""
    reach = {}
    j = lo
    for i in range(lo, hi + 1):
        j = max(j, i)
        # window i..j has diameter <= diam (subset of the previous start's window)
        while j + 1 <= w1:
            q = src_en[j + 1]
            if any(math.dist(q, src_en[k]) > diam for k in range(i, j + 1)):
                break
            j += 1
        reach[i] = j
    return reach


def widths_of(points):
    hull = convex_hull(points)
    out = []
    for k in range(180):
        c, s = math.cos(math.radians(k)), math.sin(math.radians(k))
        pr = [x * c + y * s for x, y in hull]
        out.append(max(pr) - min(pr))
    return hull, out


def search(ctx, hs, hidx, pivot, frame):
    """Best transform for one hotspot: branch and bound over (start fix, theta).

    A visit starting at fix i can last at most until the last fix j whose run
    i..j is no wider than the hotspot's diameter (any theta, any translation);
    (start) candidates are taken in decreasing order of that bound and the
    search stops when the bound falls below the best visit found.
    """
    src = LocalProjection(*pivot)
    src_en = [src.to_xy(p.lat, p.lon) for p in ctx.points]
    t = ctx.t
    lo = ctx.first_start
    hi = ctx.cut - ENTER_MIN_FIXES  # arrival must be confirmed before the cut
    if not hs.convex:
        raise SystemExit(f"{hs.id}: exterior ring is not convex; the fit test assumes it is")
    reach = diameter_reach(src_en, lo, hi, ctx.w1, hs.diameter + 1.0)
    cands = sorted((-(t[reach[i]] - t[i]), i, reach[i]) for i in range(lo, hi + 1))
    stats = {"candidates": 0, "lp": 0, "runs": 0, "evaluated": 0,
             "bound_s": -cands[0][0] if cands else 0.0}
    best = None

    def primary_s():
        return best["key"][0] / 1000 if best else 0.0

    rotated = {}
    for negb, i, jd in cands:
        if best and -negb < primary_s():
            break
        stats["candidates"] += 1
        window_cache = {}
        for theta in range(360):
            best_primary = primary_s()
            jstar = i
            while jstar <= jd and t[jstar] - t[i] < best_primary:
                jstar += 1
            if jstar > jd:
                break
            if jstar not in window_cache:
                window_cache[jstar] = widths_of(src_en[i:jstar + 1])
            _, w = window_cache[jstar]
            # width test: the rotated run's width in direction phi is the source
            # run's width in direction phi + theta (clockwise rotation)
            if any(w[(phi + theta) % 180] > hs.widths[phi] + 1e-6 for phi in range(180)):
                continue
            if theta not in rotated:
                rotated[theta] = rotate_src(src_en, theta)
            rot = rotated[theta]
            stats["lp"] += 1
            if feasible(rot[i:jstar + 1], hs) is None:
                continue
            stats["runs"] += 1
            # longest run from i that still fits (feasibility is monotone in j)
            a, b = jstar, jd
            while a < b:
                m = (a + b + 1) // 2
                stats["lp"] += 1
                if feasible(rot[i:m + 1], hs) is not None:
                    a = m
                else:
                    b = m - 1
            # shrink until a grid translation exists
            j = a
            while j >= jstar:
                region = feasible(rot[i:j + 1], hs)
                stats["lp"] += 1
                grid = grid_points(region, hs, region[1]) if region else []
                if grid:
                    break
                j -= 1
            if j < jstar:
                continue
            for gx, gy, _depth in grid[:EVAL_PER_RUN]:
                tlat, tlon = frame.to_ll(gx * GRID_M, gy * GRID_M)
                target = (round(tlat, COORD_DECIMALS), round(tlon, COORD_DECIMALS))
                motion = Motion(pivot, theta, target)
                stats["evaluated"] += 1
                r = ctx.evaluate(hs, motion)
                if r is None:
                    continue
                r["order"] = (hidx, theta, gx, gy)
                if best is None or r["key"] > best["key"]:
                    best = r
    return best, stats


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def fmt_coord(v):
    return f"{v:.{COORD_DECIMALS}f}"


def point_xml(tag, lat, lon, p, indent):
    lines = [f'{indent}<{tag} lat="{fmt_coord(lat)}" lon="{fmt_coord(lon)}">']
    by_tag = {}
    for k, v in p.children:
        by_tag.setdefault(k, v)
    for k in WPT_CHILDREN:
        if k in by_tag:
            lines.append(f"{indent}  <{k}>{escape(by_tag[k])}</{k}>")
    lines.append(f"{indent}</{tag}>")
    return lines


def write_gpx(path, name, desc, segments, waypoints, moved, moved_wpts):
    all_ll = [ll for seg in moved for ll in seg] + moved_wpts
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           f'<gpx version="1.1" creator="Guardian sim/data/derive_demo_track.py" xmlns="{GPX11_NS}">',
           "  <metadata>",
           f"    <name>{escape(name)}</name>",
           f"    <desc>{escape(desc)}</desc>",
           '    <bounds minlat="%s" minlon="%s" maxlat="%s" maxlon="%s"/>' % (
               fmt_coord(min(a for a, _ in all_ll)), fmt_coord(min(b for _, b in all_ll)),
               fmt_coord(max(a for a, _ in all_ll)), fmt_coord(max(b for _, b in all_ll))),
           "  </metadata>"]
    for p, (lat, lon) in zip(waypoints, moved_wpts):
        out += point_xml("wpt", lat, lon, p, "  ")
    for seg, lls in zip(segments, moved):
        out.append("  <trk>")
        out.append(f"    <name>{escape(name)}</name>")
        if seg["name"]:
            out.append(f"    <cmt>{escape('source track ' + seg['name'])}</cmt>")
        if seg["desc"]:
            out.append(f"    <desc>{escape(seg['desc'])}</desc>")
        out.append("    <trkseg>")
        for p, (lat, lon) in zip(seg["points"], lls):
            out += point_xml("trkpt", lat, lon, p, "      ")
        out.append("    </trkseg>")
        out.append("  </trk>")
    out.append("</gpx>")
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(out) + "\n")


# ---------------------------------------------------------------------------
# Checks on the written file
# ---------------------------------------------------------------------------

def bearing(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360


def check_written(path, src_segments, src_wpts, ctx, best, authorities):
    errors = []
    err = errors.append
    root = ET.parse(path).getroot()
    if root.tag != f"{{{GPX11_NS}}}gpx" or root.get("version") != "1.1":
        err("not a GPX 1.1 document")
    version, segs, wpts = load_source(path)
    if len(segs) != len(src_segments):
        err(f"{len(segs)} segments written, {len(src_segments)} in the source")
    pts = [p for s in segs for p in s["points"]]
    src = [p for s in src_segments for p in s["points"]]
    if [len(s["points"]) for s in segs] != [len(s["points"]) for s in src_segments]:
        err("points per segment differ from the source")
    motion = best["motion"]
    raw = []
    for s in root.iter(f"{{{GPX11_NS}}}trkpt"):
        raw.append((s.get("lat"), s.get("lon")))
    order = {tag: n for n, tag in enumerate(WPT_CHILDREN)}
    for k, (a, b) in enumerate(zip(src, pts)):
        keep = sorted(a.children, key=lambda c: order[c[0]])
        if keep != b.children:
            err(f"fix {k}: elements differ from the source: {keep} vs {b.children}")
            break
        la, lo = raw[k]
        if len(la.split(".")[1]) != COORD_DECIMALS or len(lo.split(".")[1]) != COORD_DECIMALS:
            err(f"fix {k}: lat/lon not written with {COORD_DECIMALS} decimals")
            break
        if motion.apply(a.lat, a.lon) != (b.lat, b.lon):
            err(f"fix {k}: not the rigid motion of the source point")
            break
    for k, (a, b) in enumerate(zip(src_wpts, wpts)):
        if motion.apply(a.lat, a.lon) != (b.lat, b.lon) or a.children != b.children:
            err(f"waypoint {k}: not the rigid motion of the source waypoint")
    # distortion of every step within a segment (and of the two long jumps)
    worst_rel, worst_abs, worst_turn, n_rel, worst_proj = 0.0, 0.0, 0.0, 0, 0.0
    worst_rel_at = None
    exact = [motion.apply_exact(p.lat, p.lon) for p in src]
    for k in range(1, len(src)):
        if src[k].seg != src[k - 1].seg:
            continue
        d0 = haversine(src[k - 1].lat, src[k - 1].lon, src[k].lat, src[k].lon)
        d1 = haversine(pts[k - 1].lat, pts[k - 1].lon, pts[k].lat, pts[k].lon)
        if d0 >= 1.0:  # the projection alone, before rounding to 1e-7 degree
            dx = haversine(*exact[k - 1], *exact[k])
            worst_proj = max(worst_proj, abs(dx - d0) / d0)
        worst_abs = max(worst_abs, abs(d1 - d0))
        if d0 >= DISTORTION_MIN_STEP_M:
            n_rel += 1
            rel = abs(d1 - d0) / d0
            if rel > worst_rel:
                worst_rel, worst_rel_at = rel, (k, d0, d1)
            b0 = bearing(src[k - 1].lat, src[k - 1].lon, src[k].lat, src[k].lon)
            b1 = bearing(pts[k - 1].lat, pts[k - 1].lon, pts[k].lat, pts[k].lon)
            dturn = abs(((b1 - b0 - motion.theta) + 180) % 360 - 180)
            worst_turn = max(worst_turn, dturn)
    if worst_rel >= MAX_STEP_DISTORTION:
        err(f"step-length distortion {worst_rel:.4%} >= {MAX_STEP_DISTORTION:.2%}")
    # the track as written, classified again
    r = ctx.evaluate(best["hotspot"], motion, full=True, latlon=[(p.lat, p.lon) for p in pts])
    for f in r["fails"]:
        err(f)
    if r.get("key") != best["key"]:
        err("the written track does not reproduce the search result")
    # the core's own rule for routing: in some Birmingham ward (exact test)
    bham = authorities[0][1]
    not_in = [k for k in range(ctx.w0, ctx.w1 + 1) if not bham.contains(pts[k].lat, pts[k].lon)]
    if not_in:
        err(f"fixes {not_in[:5]}... of the walk are in no Birmingham ward")
    cut = ctx.cut
    if r.get("arrival_confirmed") is None or not r["arrival_confirmed"] < cut \
            or not ctx.t[cut] > ctx.t[r["arrival_confirmed"]]:
        err(f"fix {cut} (signal loss) does not come after the confirmed arrival")
    dist = {"worst_rel": worst_rel, "worst_rel_at": worst_rel_at, "worst_abs": worst_abs,
            "worst_turn": worst_turn, "n_rel": n_rel, "worst_proj": worst_proj}
    return errors, r, dist, pts


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def main(argv=None):
    t_start = time.monotonic()
    here = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fixtures", default=os.path.join(repo_root, "..", "shared", "fixtures"),
                    help="fixtures directory (default: ../shared/fixtures from the repo root)")
    ap.add_argument("--areas", default=os.path.join(here, "demo-areas.geojson"),
                    help="demo areas (default: sim/data/demo-areas.geojson)")
    ap.add_argument("--out", default=os.path.join(here, "demo-track-birmingham.gpx"),
                    help="output GPX (default: sim/data/demo-track-birmingham.gpx)")
    args = ap.parse_args(argv)
    fx = os.path.normpath(args.fixtures)
    for sub in ("tracks", "boundaries"):
        if not os.path.isdir(os.path.join(fx, sub)):
            ap.error(f"fixtures directory {fx!r} has no {sub}/ (use --fixtures DIR)")

    version, segments, waypoints = load_source(os.path.join(fx, "tracks", SOURCE_TRACK))
    points = [p for s in segments for p in s["points"]]
    if any(p.t is None for p in points):
        raise SystemExit("the source has fixes without <time>; this script expects a timed walk")
    info = classify_source(points, [len(s["points"]) for s in segments])
    w0, w1 = info["walk"]
    pivot = (round(sum(points[k].lat for k in range(w0, w1 + 1)) / (w1 - w0 + 1), PIVOT_DECIMALS),
             round(sum(points[k].lon for k in range(w0, w1 + 1)) / (w1 - w0 + 1), PIVOT_DECIMALS))

    frame = LocalProjection(*SEARCH_ORIGIN)
    areas = load_areas(args.areas, frame)
    hotspots = [a for a in areas if a.id.startswith("bham-")]
    authorities = [(name, Wards(os.path.join(fx, "boundaries", f"wards_{code}.json")))
                   for code, name in AUTHORITIES]
    ctx = Context(points, info, areas, frame, authorities[0][1], authorities)
    best = None

    results = []  # one search per hotspot; the best key wins (file order breaks ties)
    for hidx, h in enumerate(hotspots):
        r_h, stats_h = search(ctx, h, hidx, pivot, frame)
        results.append((h, r_h, stats_h))
        if r_h is not None and (best is None or r_h["key"] > best["key"]):
            best = r_h
    if best is None:
        print("no transform satisfies the constraints", file=sys.stderr)
        return 1
    hs, motion = best["hotspot"], best["motion"]
    name = f"{SOURCE_LABEL} moved onto {hs.name}, Birmingham"
    s, e = best["first"]
    desc = (f"Derived by sim/data/derive_demo_track.py from {SOURCE_TRACK} ({SOURCE_ORIGIN}). "
            f"One rigid motion in a local metric (east/north) plane: rotated {motion.theta} deg "
            f"clockwise about the source pivot {motion.pivot[0]:.6f}, {motion.pivot[1]:.6f} and moved "
            f"to the target {motion.target[0]:.7f}, {motion.target[1]:.7f}. Times, elevations, fix types, "
            f"satellite counts and every fix (including the stale cold-start fixes and the two "
            f"~2 km jumps) are the recording's own; GPX 1.0 course and speed were dropped.")
    moved = [[motion.apply(p.lat, p.lon) for p in seg["points"]] for seg in segments]
    moved_wpts = [motion.apply(p.lat, p.lon) for p in waypoints]
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    write_gpx(args.out, name, desc, segments, waypoints, moved, moved_wpts)

    errors, r, dist, written = check_written(args.out, segments, waypoints, ctx, best, authorities)

    # summary
    t = ctx.t
    dropped = sorted({d for p in points for d in p.dropped})
    print(f"source: tracks/{SOURCE_TRACK} (GPX {version}): {len(points)} fixes in "
          f"{len(segments)} segments, {len(waypoints)} waypoints; dropped elements: "
          f"{', '.join(dropped) or 'none'}")
    print(f"  believable walk: fixes {w0}..{w1} ({fmt_time(t[w0])} .. {fmt_time(t[w1])}); "
          f"stale fixes {info['stale'][0]}..{info['stale'][-1]}; jump fixes "
          f"{', '.join(map(str, info['jumps']))}; other segments: " + ", ".join(
              f"fixes {info['starts'][k]}..{info['starts'][k] + len(segments[k]['points']) - 1}"
              for k in info["other_segs"]))
    print(f"search: theta 0..359 deg, translations on a {GRID_M:.0f} m grid; visit starts at fixes "
          f"{ctx.first_start}..{ctx.cut - ENTER_MIN_FIXES}")
    print(f"  {'hotspot':<26} {'bound':>6} {'best':>6}  {'theta':>5} {'entries':>7} {'clear.':>6}"
          f"  {'starts':>6} {'fit tests':>9} {'runs':>5} {'evals':>5}")
    for h, r_h, st_h in results:
        if r_h is None:
            cols = f"{'-':>6}  {'-':>5} {'-':>7} {'-':>6}"
        else:
            cols = (f"{r_h['key'][0] / 60000:>6.2f}  {r_h['motion'].theta:>5} "
                    f"{len(r_h['stretches']):>7} {r_h['clearance']:>6.1f}")
        print(f"  {h.id:<26} {st_h['bound_s'] / 60:>6.2f} {cols}  {st_h['candidates']:>6} "
              f"{st_h['lp']:>9} {st_h['runs']:>5} {st_h['evaluated']:>5}")
    print("  (minutes of the first visit; bound = longest run no wider than the hotspot, "
          "for any rotation and translation)")
    print(f"wrote {os.path.relpath(args.out)}: \"{name}\"\n")
    print(f"  theta   {motion.theta} deg clockwise (every heading + {motion.theta} deg)")
    print(f"  pivot   {motion.pivot[0]:.6f}, {motion.pivot[1]:.6f} (source, mean of the believable walk)")
    print(f"  target  {motion.target[0]:.7f}, {motion.target[1]:.7f} (Birmingham: where the pivot lands)")
    print(f"  hotspot {hs.id} ({hs.name})")
    st = r["stretches"]
    total = sum(t[b] - t[a] for a, b in st)
    longest = max(st, key=lambda ab: (t[ab[1]] - t[ab[0]], -ab[0]))
    print(f"  first visit: fixes {s}..{e}, {fmt_time(t[s])} .. {fmt_time(t[e])}, "
          f"{(t[e] - t[s]) / 60:.2f} min by timestamps ({e - s + 1} fixes); arrival confirmed "
          f"at fix {r['arrival_confirmed']} ({fmt_time(t[r['arrival_confirmed']])}); leaves at fix "
          f"{r['left_at']} ({fmt_time(t[r['left_at']])})")
    print(f"  longest contiguous stretch inside: fixes {longest[0]}..{longest[1]}, "
          f"{(t[longest[1]] - t[longest[0]]) / 60:.2f} min")
    print(f"  entries into the hotspot: {len(st)} (stretches " + ", ".join(
        f"{a}..{b} {(t[b] - t[a]) / 60:.2f} min" for a, b in st) + f"); exits: "
          f"{sum(1 for a, b in st if b + 1 < ctx.n)}; total {total / 60:.2f} min inside")
    print(f"  min clearance of the first visit from the hotspot edge: {r['clearance']:.1f} m; "
          f"start fixes >= {r['start_clearance']:.0f} m outside")
    cut = ctx.cut
    print(f"  signal loss at fix {cut} ({fmt_time(t[cut])}): "
          f"{'inside' if r['inside'][cut] else 'outside'} the hotspot")
    later = []
    for k in range(e + 1, ctx.n):
        for a in areas:
            if a is not hs and a.contains(r["xy"][k]) and a.id not in later:
                later.append(a.id)
    print(f"  other areas entered after the first visit: {', '.join(later) or 'none'}")
    print(f"  nearest fix to {NOWHERE_ID}: {r['nowhere_m']:.0f} m")
    print(f"  step lengths: worst relative distortion {dist['worst_rel']:.4%} over "
          f"{dist['n_rel']} steps >= {DISTORTION_MIN_STEP_M:.0f} m (fix {dist['worst_rel_at'][0]}: "
          f"{dist['worst_rel_at'][1]:.3f} m -> {dist['worst_rel_at'][2]:.3f} m); worst absolute "
          f"change over all steps {dist['worst_abs'] * 100:.2f} cm; the projection alone (before "
          f"rounding, steps >= 1 m): {dist['worst_proj']:.4%}; headings (steps >= "
          f"{DISTORTION_MIN_STEP_M:.0f} m): worst deviation from + theta {dist['worst_turn']:.3f} deg")
    print("  authorities of the fixes outside the believable walk:")
    groups = [(f"segment {k + 1} ({fmt_time(t[info['starts'][k]])[11:16]})",
               list(range(info["starts"][k], info["starts"][k] + len(segments[k]["points"]))))
              for k in info["other_segs"]]
    groups += [("stale cold-start", info["stale"]), ("jumps", info["jumps"])]
    groups.sort(key=lambda g: g[1][0])
    for label, ks in groups:
        seen = {}
        for k in ks:
            a, ward = authority_of(written[k].lat, written[k].lon, authorities)
            seen.setdefault((a or "outside all seven", ward), []).append(k)
        print(f"    {label:<17} " + "; ".join(
            f"fixes {v[0]}..{v[-1]}: {a}" + (f" ({w} ward)" if w else "")
            for (a, w), v in seen.items()))
    walk_wards = sorted({authorities[0][1].ward_of(written[k].lat, written[k].lon)
                         for k in range(w0, w1 + 1)})
    print(f"    believable walk   fixes {w0}..{w1}: all in Birmingham (ward{'s' if len(walk_wards) > 1 else ''} {', '.join(walk_wards)})")
    print(f"\nrun time {time.monotonic() - t_start:.1f} s")

    if errors:
        print("\nCHECKS FAILED:", file=sys.stderr)
        for m in errors:
            print("  " + m, file=sys.stderr)
        return 1
    print("checks: OK (GPX 1.1, every fix and time kept, rigid motion reproduced from theta/pivot/"
          "target, step distortion < %.1f%%, first area entered is the hotspot from >= %.0f m "
          "outside, arrival confirmed before fix %d, leaves again, walk in Birmingham wards, "
          ">= %.0f m from %s)" % (MAX_STEP_DISTORTION * 100, START_CLEARANCE_M, cut,
                                   NOWHERE_MIN_DISTANCE_M, NOWHERE_ID))
    return 0


if __name__ == "__main__":
    sys.exit(main())
