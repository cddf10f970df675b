"""Session fixtures of the training and evaluation tests."""
