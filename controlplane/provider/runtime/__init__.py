"""A thin runtime for Terraform providers written in Python: plugin protocol 6 over grpcio.

``schema`` declares attributes, ``resource`` holds the base classes and the common planning,
``service`` answers Terraform's calls, ``plugin`` does the go-plugin handshake and serves.
"""
