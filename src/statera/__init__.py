"""Statera: load balancing as a service, wire-compatible with OpenStack Octavia's v2 API.

Importing the package has no side effects; the version lives here and nowhere else.
"""

__version__ = "0.1.0"
