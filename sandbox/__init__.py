"""The offline world: OpenAir and Graph simulators, Azurite launcher, the local function host, demo data.

Nothing in `shared/` imports from here; the sandbox stands in for services the product reaches over HTTP.
"""
