"""Arbiter's prompt-injection classifier: plain Python and numpy, no Django.

``features`` turns text into hashed n-gram and instruction-structure features, ``model``
scores them, ``artifact`` stores a trained model without pickle and verifies its digest,
``store`` finds artifacts by digest (shipped ones in ``artifacts/``, trained ones through a
source the application adds), ``training`` fits and measures a version (scikit-learn), and
``starter`` generates the shipped training set. The engine's ``local_classifier`` rule kind
is what scores texts in a policy.

This module imports nothing, so that the engine's defaults can read `shipped` cheaply.
"""
