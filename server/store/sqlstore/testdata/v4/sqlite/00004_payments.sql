-- Premium orders paid through PortOne, and processed V2 webhook ids.

-- +goose Up
CREATE TABLE payment_orders (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    merchant_uid TEXT    NOT NULL UNIQUE,           -- ours: V1 merchant_uid, V2 paymentId
    plan_id      TEXT    NOT NULL,
    plan_name    TEXT    NOT NULL,
    amount       INTEGER NOT NULL,                  -- fixed at creation
    currency     TEXT    NOT NULL,
    period_us    INTEGER NOT NULL,                  -- what the order buys, microseconds
    gateway      TEXT    NOT NULL CHECK (gateway IN ('v1', 'v2')),
    status       TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'failed', 'tampered', 'cancelled')),
    portone_id   TEXT    NOT NULL DEFAULT '',       -- imp_uid or paymentId once known
    paid_amount  INTEGER NOT NULL DEFAULT 0,        -- what PortOne reported on a mismatch
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    paid_at      INTEGER,
    cancelled_at INTEGER
);
CREATE INDEX payment_orders_user ON payment_orders(user_id, created_at DESC, id DESC);

CREATE TABLE payment_webhooks (
    webhook_id  TEXT    PRIMARY KEY,
    received_at INTEGER NOT NULL
);
CREATE INDEX payment_webhooks_received ON payment_webhooks(received_at);

-- +goose Down
DROP TABLE payment_webhooks;
DROP TABLE payment_orders;
