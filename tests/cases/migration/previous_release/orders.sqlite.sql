-- The orders schema as the release before migrations created it at start-up
-- (metadata.create_all, commit fbac5ac), for sqlite: captured once, never regenerated.

CREATE TABLE orders (
	id INTEGER NOT NULL,
	customer_id VARCHAR(64) NOT NULL,
	status VARCHAR(16) NOT NULL,
	currency VARCHAR(3) NOT NULL,
	total_cents BIGINT NOT NULL,
	created_at DATETIME NOT NULL,
	updated_at DATETIME NOT NULL,
	idempotency_key VARCHAR(255),
	idempotency_fingerprint VARCHAR(64),
	PRIMARY KEY (id)
);

CREATE UNIQUE INDEX uq_orders_idempotency_key ON orders (idempotency_key);

CREATE INDEX ix_orders_customer_id ON orders (customer_id, id);

CREATE TABLE order_items (
	id INTEGER NOT NULL,
	order_id INTEGER NOT NULL,
	position INTEGER NOT NULL,
	sku VARCHAR(64) NOT NULL,
	quantity INTEGER NOT NULL,
	unit_price_cents BIGINT NOT NULL,
	PRIMARY KEY (id),
	FOREIGN KEY(order_id) REFERENCES orders (id) ON DELETE CASCADE
);

CREATE INDEX ix_order_items_order_id ON order_items (order_id, position);
