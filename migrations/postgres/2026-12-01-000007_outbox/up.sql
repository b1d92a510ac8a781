-- The outbox: every change an application cares about, appended in the same transaction as
-- the change, numbered by a sequence that only grows per node. Applications read it as
-- webhooks or as the event feed.
CREATE TABLE outbox_sequences (
    node_id     BIGINT PRIMARY KEY NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    last_seq    BIGINT NOT NULL
);

CREATE TABLE outbox (
    node_id     BIGINT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    subject_id  TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (node_id, seq)
);
CREATE INDEX outbox_created ON outbox (created_at);
