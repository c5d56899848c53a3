-- API keys have a kind (secret, restricted, client), the scopes of a
-- restricted key and the origins of a client key, each list joined by
-- commas. Keys made before kinds existed are secret.
ALTER TABLE api_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'secret';
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN origins TEXT NOT NULL DEFAULT '';
