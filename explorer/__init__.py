"""ML Explorer: see machine-learning algorithms work."""
__version__ = "0.1.0"
