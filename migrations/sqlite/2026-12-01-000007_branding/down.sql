DROP TABLE school_branding;
