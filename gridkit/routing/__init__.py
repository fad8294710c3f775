"""Patrol routes on street networks (巡查路线), in one module per family of algorithms.

- :mod:`~gridkit.routing.tjoin`: minimum T-joins on the sparse street graph (PyMatching's sparse
  blossom), pieces of the required streets and the shortest tree joining them;
- :mod:`~gridkit.routing.postman`: Chinese and rural postman tours (exact where proven, else with a bound);
- :mod:`~gridkit.routing.bounds`: lower bounds (T-join, cut LP, round trips, Held–Karp), off the critical path;
- :mod:`~gridkit.routing.split`: min-max routes for several wardens, each from their own station;
- :mod:`~gridkit.routing.tours`: door-to-door tours through the buildings' access points;
- :mod:`~gridkit.routing.patrol`: the public :func:`patrol_routes` for every grid, with a time budget per grid.

The street graph as arrays is :class:`gridkit.network.StreetNetwork`.
"""

from gridkit.network import StreetNetwork, undirected
from gridkit.routing.bounds import (
    forest_bound,
    held_karp_bound,
    round_trip_bound,
    rpp_lp_bound,
    subtour_bound,
    tjoin_bound,
)
from gridkit.routing.budget import Deadline
from gridkit.routing.patrol import FAR_STATION_M, ROUTE_COLUMNS, patrol_routes, required_edges, routes_for_export
from gridkit.routing.postman import Tour, euler_circuit, postman_tour, rural_postman_exact, tour_length
from gridkit.routing.split import improve_routes, serving_steps, split_tour, split_tour_depots
from gridkit.routing.tjoin import min_tjoin, odd_nodes, piece_tree, required_pieces
from gridkit.routing.tours import access_points, building_tour, exact_tsp, tsp_tour

Network = StreetNetwork  # the name routing used before the one arrays type

__all__ = [
    "FAR_STATION_M",
    "ROUTE_COLUMNS",
    "Deadline",
    "Network",
    "StreetNetwork",
    "Tour",
    "access_points",
    "building_tour",
    "euler_circuit",
    "exact_tsp",
    "forest_bound",
    "held_karp_bound",
    "improve_routes",
    "min_tjoin",
    "odd_nodes",
    "patrol_routes",
    "piece_tree",
    "postman_tour",
    "required_edges",
    "required_pieces",
    "round_trip_bound",
    "routes_for_export",
    "rpp_lp_bound",
    "rural_postman_exact",
    "serving_steps",
    "split_tour",
    "split_tour_depots",
    "subtour_bound",
    "tjoin_bound",
    "tour_length",
    "tsp_tour",
    "undirected",
]
