"""releasetool: build and release toolkit of the ClusterLabs community distribution."""

__version__ = "0.1.0"
