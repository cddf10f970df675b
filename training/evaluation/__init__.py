"""Evaluate CLIP models on multilingual zero-shot classification, retrieval and multiple choice.

Run ``python -m training.evaluation --help`` for the command line; ``docs/evaluation.md`` describes
the input formats and the metrics.
"""
