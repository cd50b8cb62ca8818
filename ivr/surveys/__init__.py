"""Satisfaction call-backs: the sampling policy, the daily draw, the dialling jobs, the survey call, report.

The pure rules (policy, due, selection) use the standard library only; the database side is
draws.py, jobs.py, completions.py and responses.py.
"""
