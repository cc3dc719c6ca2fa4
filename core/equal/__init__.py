"""EQUAL stage C: the bandit whose arms are clusters of a :mod:`core.corpus` map.

Arms, policies, the optimal-transport reward, reference sets, extraction, the run loop, its
SQLite store, replay, export and the contrastive warm-up.
"""
