"""Camera-side vision: pure functions from a camera frame (numpy array) to what it shows.

No camera access here; the camera driver hands frames in, these functions hand results back.
"""
