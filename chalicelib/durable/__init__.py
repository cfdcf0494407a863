"""Durable runs: checkpoints after every Task state, resume from the last one, approvals.

``checkpoints`` is what the handler adapter writes and the resume reads; ``drills`` is the
test-only hook that kills a process or breaks its store at a chosen state.
"""
