"""The local stores behind ``maildir:``, ``mbox:`` and ``memory:``: plain blocking code.

This package does the file-system work of the local backends, synchronously, once for both
facades (like ``_backends/_socket``, it is not generated). The async mailbox runs each call in a
worker thread (``anyio.to_thread.run_sync``); the generated sync mailbox calls it directly. A
store is thread-safe: every operation opens a :class:`~._view.FolderView` that holds the
folder's lock (``flock`` for Maildir, the ``mailbox`` module's ``lockf`` + dot-lock for mbox, a
``threading.Lock`` for memory) for the duration of that one operation.
"""
