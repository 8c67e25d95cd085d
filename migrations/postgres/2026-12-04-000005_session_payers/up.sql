-- The payer of each session: the lead fields its creation request sent. A session shows and
-- uses these, not the fields stored on the lead it is linked to (with the REUSE duplicate
-- policy that lead may have been created by someone else's request with the same e-mail).
-- One row per session, in its own table: payment_sessions has 32 columns, diesel's limit here.
CREATE TABLE session_payers (
    session_id   TEXT PRIMARY KEY NOT NULL REFERENCES payment_sessions (id),
    email        TEXT NOT NULL,
    first_name   TEXT NOT NULL,
    last_name    TEXT NOT NULL,
    country      TEXT NOT NULL,
    address      TEXT,
    city         TEXT,
    postal_code  TEXT,
    phone        TEXT
);
-- Sessions created before this migration did not keep their request: they keep showing their
-- lead's stored fields.
INSERT INTO session_payers (session_id, email, first_name, last_name, country, address, city,
                            postal_code, phone)
SELECT s.id, l.email, l.first_name, l.last_name, l.country, l.address, l.city, l.postal_code,
       l.phone
FROM payment_sessions s JOIN leads l ON l.id = s.lead_id;
