"""Training: the loop and its callbacks, the run folder, frameworks (ITS / TS / PRE), evaluation."""
