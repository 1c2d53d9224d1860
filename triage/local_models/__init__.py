"""The offline tier: small models served in-process, with no HTTP and no API key, at $0.

``registry`` holds the interface the routing service calls; the models themselves register
there when first needed, so importing this package never trains or loads anything.
"""
