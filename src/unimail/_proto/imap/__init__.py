"""_proto/imap."""
