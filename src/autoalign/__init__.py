"""autoalign: automated alignment research whose output carries measured error rates."""

__version__ = "0.1.0"
