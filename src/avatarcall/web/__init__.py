"""HTTP pages, the REST API and the signaling WebSocket (transport only): ``api``, ``pages``,
``ws``, ``diagnostics``; ``deps`` hands the routes the server's services, typed."""
