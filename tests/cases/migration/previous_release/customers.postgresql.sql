-- The customers schema as the release before migrations created it at start-up
-- (metadata.create_all, commit fbac5ac), for postgresql: captured once, never regenerated.

CREATE TABLE customers (
	id SERIAL NOT NULL,
	name VARCHAR(200) NOT NULL,
	email VARCHAR(320) NOT NULL,
	created_at TIMESTAMP WITH TIME ZONE NOT NULL,
	updated_at TIMESTAMP WITH TIME ZONE NOT NULL,
	idempotency_key VARCHAR(255),
	idempotency_fingerprint VARCHAR(64),
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX uq_customers_email ON customers (lower(email));

CREATE UNIQUE INDEX uq_customers_idempotency_key ON customers (idempotency_key);
