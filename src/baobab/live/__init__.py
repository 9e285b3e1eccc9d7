"""Live push: committed events delivered over WebSockets to the sockets allowed to see them.

- :mod:`.wire`: a committed transaction's events as one bus message, and the frames pushed.
- :mod:`.backlog`: the bounded, ordered memory of recent messages behind ``since``.
- :mod:`.bus`: how messages travel: in-process, or through a Redis stream between processes.
- :mod:`.hub`: sockets, their subscriptions, and guarded delivery.
"""
