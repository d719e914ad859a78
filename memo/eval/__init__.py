"""`memo bench`: base, retrieval-only, fine-tune-only and combined answering scored on the same
questions, with confidence intervals and a report.

Always import this package by its full name (`memo.eval`), never as a bare `eval`.
"""
