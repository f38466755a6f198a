"""Pure domain rules: no Flask, OpenCV, smbus, gpiozero or database imports.

Rules never read the clock or the hardware; callers pass time and readings in.
"""
