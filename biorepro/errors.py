"""Refusals: errors about the user's input or environment whose message names the cause
(the file, the config key) and what to do. Commands and jobs print them as they are, one
message without a traceback; any other exception is a bug and keeps its traceback."""


class Refusal(Exception):
    """An error whose message is complete: the cause and what to do."""
