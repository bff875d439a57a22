-- A school's look on its pages: a brand colour and a logo (PNG or JPEG), set by its GM.
CREATE TABLE school_branding (
    school_id BIGINT PRIMARY KEY NOT NULL REFERENCES schools(id),
    colour TEXT,
    logo BLOB,
    logo_type TEXT,
    updated_at BIGINT NOT NULL
);
