"""The async source of truth: every module here is converted to ``unimail._sync``."""
