"""The fuzz layer: the hypothesis profile is loaded before any test module."""

import fuzzlib  # noqa: F401  (registers and loads the "fuzz" profile)
