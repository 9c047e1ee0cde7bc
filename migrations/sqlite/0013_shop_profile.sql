-- The shop profile, secret rotation and API keys shown once after a redirect (issue 15,
-- Settings). Same columns as ../postgres/0013_shop_profile.sql.

-- Shown to customers in the purchase email, on the delivery page and in the portal.
-- support_email: where customers write for help (NULL = not shown).
ALTER TABLE merchants ADD COLUMN support_email TEXT;
-- accent_colour: '#rrggbb', lower case, checked before it is stored (NULL = Satchel's own).
ALTER TABLE merchants ADD COLUMN accent_colour TEXT;
-- logo_sha256: the logo's SHA-256 (its blob is 'brand/logo/<sha256>'); logo_type is its
-- sniffed image type ('png', 'jpeg' or 'webp').
ALTER TABLE merchants ADD COLUMN logo_sha256 TEXT;
ALTER TABLE merchants ADD COLUMN logo_type TEXT;

-- A rotated webhook secret keeps verifying for 24 hours after rotated_at, beside the new one.
ALTER TABLE merchants ADD COLUMN previous_standard_webhook_secret TEXT;
ALTER TABLE merchants ADD COLUMN standard_webhook_secret_rotated_at BIGINT;
ALTER TABLE merchants ADD COLUMN previous_stripe_webhook_secret TEXT;
ALTER TABLE merchants ADD COLUMN stripe_webhook_secret_rotated_at BIGINT;

-- A key made in the dashboard is HMAC(server key, reveal_salt): the page the creating POST
-- redirects to derives it once for reveal_to (the user who made it) before reveal_until,
-- then clears the salt. Nothing stored here is the key.
ALTER TABLE api_keys ADD COLUMN reveal_salt TEXT;
ALTER TABLE api_keys ADD COLUMN reveal_to TEXT;
ALTER TABLE api_keys ADD COLUMN reveal_until BIGINT;
