"""Queueing: queue entries, a waiting caller's place, the dispatcher, agent states, storm mode, the floor."""
