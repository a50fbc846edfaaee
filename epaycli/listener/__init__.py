"""The notify receiver behind ``epay listen``: one asyncio loop serving HTTP/1.1 parsed by
llhttp (``server``, ``http``) that judges every notify (``judge``), journals it durably to
SQLite before answering (``journal``),
can pass it on to the shop's own handler (``forwarder``) and sit behind an ngrok tunnel
(``tunnel``); ``session`` runs them together for the command, ``replay`` re-sends what was
journaled. The engine reports through ``on_event`` callbacks with typed events (``events``);
it never prints.
"""
