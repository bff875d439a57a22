#!/bin/sh
# The protected page of the Apache test: prints what mod_auth_openidc passes the application
# (REMOTE_USER, the ID token's claims as OIDC_CLAIM_*, the tokens), one NAME=value a line.
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\n'
env | grep -E '^(REMOTE_USER|OIDC_CLAIM_[A-Za-z_]+|OIDC_access_token|OIDC_access_token_expires|OIDC_refresh_token)=' | sort
