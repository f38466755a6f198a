-- 0011: both readings of a re-measured visit, and the forehead distance (issue 11).
-- temp_* stay the reading the decision used (the re-measurement when there was one);
-- temp_first_* hold the elevated first reading it answered; temp_recheck_trusted says
-- whether the re-measurement was a valid in-place reading (1) or not (0, referred).
-- temp_distance_cm / temp_first_distance_cm come from the optional distance sensor.
ALTER TABLE entries ADD COLUMN temp_first_object_c REAL;
ALTER TABLE entries ADD COLUMN temp_first_ambient_c REAL;
ALTER TABLE entries ADD COLUMN temp_first_estimated_c REAL;
ALTER TABLE entries ADD COLUMN temp_distance_cm REAL;
ALTER TABLE entries ADD COLUMN temp_first_distance_cm REAL;
ALTER TABLE entries ADD COLUMN temp_recheck_trusted INTEGER;
