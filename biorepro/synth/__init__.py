"""The synthetic demo dataset: face videos and replay attacks in Replay-Attack's layout
(``generate``), generated once per parameter set (``dataset``)."""
