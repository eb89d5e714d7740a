"""What the receiver remembers between exports, so later items land in the right place.

Two facts cross export boundaries:

- the session of a trace: `gen_ai.conversation.id` is usually on inference and agent spans
  only, and the spans of one trace arrive in several exports (children end, and are exported,
  before their parents);
- Codex's current turn: no Codex OTel event carries a turn id, so `codex.user_prompt` opens
  a run and the session's later events are put in it;
- Codex's sub-agents: a sub-agent reports under its own conversation id, in the trace of the
  parent turn that spawned it (`codex_turns`: trace → the turn that trace is, as
  ``<session> <turn>``) and named by the parent's `spawn_agent` result in the logs;
  `parent_sessions` maps the sub-agent's conversation to its parent's session.

Both are bounded LRU maps held in memory: after a restart a trace falls back to its trace id
as session and a Codex event to no run until the next prompt.
"""

from __future__ import annotations

from collections import OrderedDict

DEFAULT_CAPACITY = 20_000


class BoundedMap:
    """A string → string map that forgets the least recently used entries beyond `capacity`."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, str] = OrderedDict()

    def get(self, key: str) -> str | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: str) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class CorrelationMemory:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.trace_sessions = BoundedMap(capacity)
        self.current_runs = BoundedMap(capacity)
        self.codex_turns = BoundedMap(capacity)
        self.parent_sessions = BoundedMap(capacity)
