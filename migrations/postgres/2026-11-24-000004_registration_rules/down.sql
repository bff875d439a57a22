DROP TABLE enrollment_codes;
DROP TABLE registration_rules;
