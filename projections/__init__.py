"""Read models built from the event log; each can be dropped and rebuilt at any time."""
