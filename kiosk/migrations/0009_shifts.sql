-- 0009: shift times on the duty roster. Both NULL = a whole-day duty as before; both set =
-- a shift from shift_start to shift_end ('HH:MM', the office's local time), crossing midnight
-- when shift_end < shift_start (22:00-06:00 belongs to the business_date it starts on).
-- Checked by kiosk/storage/staff.py (SQLite cannot add a table CHECK to an existing table).
ALTER TABLE duty_roster ADD COLUMN shift_start TEXT;
ALTER TABLE duty_roster ADD COLUMN shift_end TEXT;
