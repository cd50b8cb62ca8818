"""Satisfaction call-backs, the pure part: the sampling policy, phone numbers, and who is selected.

Standard library only; the database side is in ivr/services/completions.py and callback_selection.py.
"""
