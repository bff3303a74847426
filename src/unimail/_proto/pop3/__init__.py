"""The sans-I/O POP3 core (RFC 1939, RFC 2449, RFC 2595, RFC 5034): bytes in, events out.

``_protocol`` holds the state machine (its tables of commands, states and bodies are in
``_rules``), ``_framing`` the multi-line framing with dot-unstuffing,
``_reply`` the status lines and listings, ``_capa`` the CAPA answer, ``_commands`` the command
lines with their validation. Nothing here touches a socket, a clock or an event loop.
"""
