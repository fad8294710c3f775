"""Published arc-routing instances and independent exact solvers for the routing benchmarks and tests.

- :func:`read_carp`: a CARP instance of CARPLIB's format (gdb, val, egl in ``scripts/data/carp``) as a
  :class:`gridkit.network.StreetNetwork` (node i is the instance's vertex i + 1; the depot is returned).
- :func:`exact_rpp`: the rural postman optimum by an integer program solved with HiGHS (scipy.milp):
  integer extra passes x_e >= 0 per edge, even degree at every node (deg_R(v) + x(δ(v)) = 2 z_v),
  and x(δ(S)) >= 2 for every node set S that holds required edges but not the depot and that the
  current solution leaves apart (cuts added until the solution is connected). Independent of gridkit's
  algorithms: it uses no T-join, matching or tree.
- :func:`read_tsplib`: an EUC_2D TSPLIB instance (``scripts/data/tsplib``) as a distance matrix (TSPLIB's
  rounding) with its published optimum.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from gridkit.network import StreetNetwork

DATA = Path(__file__).resolve().parent / "data"

TSPLIB_OPTIMA = {"berlin52": 7542, "eil51": 426, "st70": 675, "eil76": 538, "pr76": 108159, "rat99": 1211,
                 "kroA100": 21282, "kroC100": 20749, "kroD100": 21294, "rd100": 7910, "eil101": 629,
                 "lin105": 14379}


def read_carp(path: Path) -> tuple[StreetNetwork, int]:
    """The instance's graph (all edges, required or not; costs as lengths) and its depot node index."""
    text = Path(path).read_text(encoding="latin-1")
    n = int(re.search(r"VERTICES\s*:\s*(\d+)", text).group(1))
    depot = int(re.search(r"DEPOSITO\s*:\s*(\d+)", text).group(1)) - 1
    edges = re.findall(r"\(\s*(\d+)\s*,\s*(\d+)\s*\)\s*coste\s+(\d+)", text)
    eu = np.array([int(a) - 1 for a, _, _ in edges])
    ev = np.array([int(b) - 1 for _, b, _ in edges])
    cost = np.array([float(c) for *_, c in edges])
    angle = 2 * np.pi * np.arange(n) / n  # the instances have no coordinates: nodes on a circle
    xy = np.column_stack([1000 * np.cos(angle), 1000 * np.sin(angle)])
    geoms = shapely.linestrings(np.stack([xy[eu], xy[ev]], axis=1))
    net = StreetNetwork("EPSG:3857", np.arange(n), xy, eu, ev, cost, geoms, np.full(len(eu), None, dtype=object))
    return net, depot


def exact_rpp(net: StreetNetwork, required: np.ndarray, depot: int, *, time_limit: float = 60.0,
              max_rounds: int = 200) -> float | None:
    """Length of the shortest closed walk from ``depot`` covering ``required`` (None if not proven)."""
    required = np.asarray(required, dtype=np.int64)
    m, n = len(net.eu), len(net.node_ids)
    deg = np.bincount(np.concatenate([net.eu[required], net.ev[required]]), minlength=n)
    # variables: x_e (m, integer >= 0), z_v (n, integer >= 0)
    inc = sp.coo_matrix((np.ones(2 * m), (np.concatenate([net.eu, net.ev]), np.tile(np.arange(m), 2))),
                        shape=(n, m)).tocsr()
    parity = sp.hstack([inc, -2 * sp.identity(n)]).tocsr()
    cost = np.concatenate([net.length, np.zeros(n)])
    cuts: list[np.ndarray] = []
    for _ in range(max_rounds):
        rows = [LinearConstraint(parity, -deg, -deg)]
        if cuts:
            a = np.array([np.concatenate([(s[net.eu] ^ s[net.ev]).astype(float), np.zeros(n)]) for s in cuts])
            rows.append(LinearConstraint(sp.csr_matrix(a), 2.0, np.inf))
        res = milp(cost, constraints=rows, integrality=np.ones(m + n), bounds=Bounds(0, np.inf),
                   options={"time_limit": time_limit})
        if res.status != 0:
            return None
        x = np.round(res.x[:m]).astype(int)
        used = np.concatenate([required, np.flatnonzero(x > 0)])
        adj = sp.coo_matrix((np.ones(len(used)), (net.eu[used], net.ev[used])), shape=(n, n))
        _, label = connected_components(adj, directed=False)
        touched = np.zeros(n, dtype=bool)
        touched[net.eu[used]] = touched[net.ev[used]] = True
        touched[depot] = True
        parts = np.unique(label[touched])
        if len(parts) == 1:
            return float(net.length[required].sum() + (net.length * x).sum())
        for c in parts:
            if c != label[depot]:
                cuts.append(label == c)
    return None


def read_tsplib(name: str) -> tuple[np.ndarray, int]:
    """Distance matrix (TSPLIB EUC_2D: rounded Euclidean) of ``name`` and its published optimum."""
    lines = (DATA / "tsplib" / f"{name}.tsp").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("NODE_COORD_SECTION")) + 1
    pts = []
    for line in lines[start:]:
        if line.strip() in {"EOF", ""}:
            break
        pts.append([float(v) for v in line.split()[1:3]])
    xy = np.array(pts)
    dist = np.floor(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) + 0.5)
    return dist, TSPLIB_OPTIMA[name]
