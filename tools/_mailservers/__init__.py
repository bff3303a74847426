"""The pieces of ``tools/mailservers.py``, split by concern; import them through that module.

- ``_common``: constants (ports' host, domain, default users, timeouts), ServersUnavailable,
  the work directory's layout.
- ``_files``: the work directory, the TLS (test CA) material, Maildir helpers.
- ``_processes``: finding, launching, probing and stopping the daemons; free ports.
- ``_dovecot`` and ``_postfix``: each server's generated configuration and its start.
- ``_servers``: the :class:`MailServers` handle (seeding, delivery, load).
- ``_start``: :func:`start`, which puts everything together.
- ``_cli``: the ``run`` and ``serve`` commands.
"""
