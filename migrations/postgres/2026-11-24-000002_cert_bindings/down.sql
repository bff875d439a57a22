DROP TABLE cert_bindings;
