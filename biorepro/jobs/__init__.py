"""One module per stage, named as the stage: what its job builds, given the plan's job.

Run through :mod:`biorepro.jobs.run` (the workflow's rules, ``python -m biorepro.jobs``
and ``biorepro recheck``); no library module imports this package.
"""
