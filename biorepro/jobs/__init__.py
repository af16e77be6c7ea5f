"""One module per stage: what that stage's job does, given the plan's spec."""
