"""Storage adapters: one module per backend, each implementing :mod:`gridgov.ports`.

Import the one you need (``gridgov.adapters.memory``); ``gridgov`` itself imports none of them.
"""
