-- Operations (issue 16): the progress of `catalyst rotate-data-key`, one row per sealed
-- target, so a rotation interrupted between two batches resumes after the last committed one.
-- `key_id` names the new key (a one-way fingerprint); a row of another key's rotation is
-- started over.
CREATE TABLE data_key_rotation (
    target TEXT PRIMARY KEY NOT NULL,
    key_id TEXT NOT NULL,
    position TEXT NOT NULL,
    done BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
