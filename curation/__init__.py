"""Worldwide curation of image-text pairs following the Meta CLIP 2 recipe."""
