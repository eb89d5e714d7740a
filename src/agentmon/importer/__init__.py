"""``agentmon import``: the agent history already on this machine, as agentmon events.

Producer side only (no server imports): it reads the tools' local transcript files and
posts through the client layer, deriving every id the way the live hooks do.
"""
