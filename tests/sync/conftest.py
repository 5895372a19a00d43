"""The Graph simulator fixtures of tests/graph, for import passes that run the real gateway over HTTP."""

from tests.graph.conftest import sample_graph, sim, sim_gateway, simulator

__all__ = ["sample_graph", "sim", "sim_gateway", "simulator"]
