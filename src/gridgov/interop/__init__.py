"""Standard formats in and out: one module per format.

- :mod:`gridgov.interop.open311`: Open311 GeoReport v2 service lists, service requests, the
  import of requests as cases and the error document.
"""
