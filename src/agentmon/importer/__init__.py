"""``agentmon import``: the agent history already on this machine, as agentmon events.

Producer side only (no server imports): the reading and replaying of each tool's files
lives beside its hook mapping (``agentmon.integrations.claude_history``, ``codex_history``),
so every id is derived the way the live hooks derive it; this package finds the files,
posts through the client layer, and reports progress and a summary.
"""
