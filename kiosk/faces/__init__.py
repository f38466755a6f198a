"""Staff faces: the dlib face stack, enrolment checks, matching, liveness and the frame pipeline.

The face stack is optional at run time: when dlib or its model files are missing, face
attendance reports "unavailable" and everything else keeps working (see
:func:`kiosk.faces.engine.load_engine`). Nothing in this package writes an image to disk.
"""
