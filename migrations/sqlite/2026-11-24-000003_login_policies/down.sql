DROP TABLE login_policies;
