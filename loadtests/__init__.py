"""Portalis load tests: seeder, Locust scenarios, runner with a bare-SQL baseline.

Nothing here is installed as a plugin entry point; the load-test sign-in
(:mod:`portalis.loadtests.principal`) is registered only by
:mod:`portalis.loadtests.asgi`, the ASGI factory the runner serves.
"""
